"""The ``armsrace`` command line: parses arguments and calls library functions, nothing more.

Each subcommand lives in ``model/commands/<name>.py`` with a ``register(subparsers)`` function
and an ``ORDER`` number (its place in ``--help``); modules there are found automatically.
Bad input of any kind ends with one line on stderr naming the field and the value, and exit
status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from model import __version__
from model.errors import ParameterError


def command_modules() -> list:
    """Every module in model.commands, ordered by its ``ORDER`` (then name)."""
    import pkgutil

    import model.commands

    mods = [importlib.import_module(f"model.commands.{m.name}")
            for m in pkgutil.iter_modules(model.commands.__path__)]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))

DESCRIPTION = """\
Simulate how the United States, Japan, South Korea, the Philippines, China, North Korea and
Russia adjust military spending under US alliance pressure and perceived threat, from real 2024
data (SIPRI, World Bank, IMF) to a chosen horizon.

Start with 'armsrace scenarios' to see the shipped scenarios, then 'armsrace run --scenario NAME'.
Every command has its own --help."""



class OneLineParser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block), exit status 2, like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="armsrace", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser)
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParameterError as exc:
        print(f"armsrace {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C: one line (what was left, when the command says), status 130
        print(f"armsrace {args.command}: interrupted" + (f". {exc}" if str(exc) else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
