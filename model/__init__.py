"""ea-armsrace: an agent-based model of East Asian military spending (described in docs/MODEL.md)."""

__version__ = "0.1.0"
