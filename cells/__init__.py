"""Cells: the cellrouter service, tree membership, the client and the CLI."""
