"""Errors of the selection package.

    BestMatchError
    └── PluginError          the selection config cannot be built
        ├── PluginNotFound   a configured selector, filter or weigher is not installed
        ├── DuplicatePlugin  a name configured twice, or installed by two packages
        └── BadPluginOptions a plugin refused its options
"""

from __future__ import annotations


class BestMatchError(Exception):
    pass


class PluginError(BestMatchError):
    pass


class PluginNotFound(PluginError):
    pass


class DuplicatePlugin(PluginError):
    pass


class BadPluginOptions(PluginError):
    pass
