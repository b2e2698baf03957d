"""The standard's rules as pure Python: no I/O, no framework imports."""
