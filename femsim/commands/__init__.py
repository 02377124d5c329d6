"""One module per CLI command (see :mod:`femsim.cli` for the protocol)."""
