"""The version of dedup, in one place: the package, its reports and setup.cfg read it here."""

__version__ = "0.1.0"
