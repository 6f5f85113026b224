"""Routing: cell paths, the location index, and the choice of next hop."""
