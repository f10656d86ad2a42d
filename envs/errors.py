"""User-facing errors of the world package.

Every error a person can cause by giving bad input derives from
:class:`BanditsimError`; the CLI prints its message as one line and exits
non-zero, never a traceback.
"""

from __future__ import annotations


class BanditsimError(Exception):
    """Base class for errors caused by bad input (files, configs, parameters)."""


class CatalogError(BanditsimError):
    """A catalog file is missing, unreadable, or malformed."""


class EmbeddingError(BanditsimError):
    """The embedding model cannot be loaded, or produced unusable vectors."""


class CacheError(BanditsimError):
    """The embedding cache directory cannot be used."""
