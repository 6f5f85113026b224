"""Errors of the selection package.

    BestMatchError
    └── PluginNotFound   a configured selector, filter or weigher is not installed
"""

from __future__ import annotations


class BestMatchError(Exception):
    pass


class PluginNotFound(BestMatchError):
    pass
