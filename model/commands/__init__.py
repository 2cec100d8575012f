"""One module per ``armsrace`` subcommand; each defines ``register(subparsers)``."""
