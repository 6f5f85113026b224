"""Best match: choosing where a new instance goes.

The same contracts choose a child cell (from the capacity its subtree
reports) and a host inside a leaf. `bestmatch.api` holds them; selectors,
filters and weighers implement them.
"""
