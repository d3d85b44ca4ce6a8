"""fwaudit: what on this host can be reached, from where, and is that what we declared?"""

__version__ = "0.1.0"
