"""One module per ``armsrace`` subcommand; each defines ``register(subparsers)``."""

import argparse


def add_force(parser: argparse.ArgumentParser) -> None:
    """The ``--force`` option of the commands that write an output folder."""
    parser.add_argument("--force", action="store_true",
                        help="replace this command's own earlier outputs in the output folder (never other files)")
