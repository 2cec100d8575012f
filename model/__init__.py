"""ea-armsrace: an agent-based model of East Asian military spending (see MODEL.md in the docs)."""

__version__ = "0.1.0"
