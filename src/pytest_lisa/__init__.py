"""LISA's pytest layer: the ``lisa`` pytest plugin and the ``lisa`` command."""

__version__ = "0.1.0"
