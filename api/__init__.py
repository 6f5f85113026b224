"""An OpenStack-compatible HTTP API in front of the tree of cells."""
