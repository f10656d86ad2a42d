"""User-facing errors of the simulated world (population, feedback, world, envs).

Each derives from :class:`banditsim.envs.errors.BanditsimError`, so the CLI prints it as one line.
"""

from __future__ import annotations

from banditsim.envs.errors import BanditsimError


class PopulationError(BanditsimError):
    """A user population cannot be built from the given data or parameters."""


class PersonaError(PopulationError):
    """A persona file or persona list is malformed."""


class FeedbackKindError(BanditsimError):
    """A reward map names an unknown feedback kind or holds a non-finite reward."""


class WorldConfigError(BanditsimError):
    """A world, dynamics or slate parameter is out of range."""


class ActionError(BanditsimError):
    """An action or slate given to the world is malformed or out of range."""


class ItemVectorError(BanditsimError):
    """Item vectors are malformed (wrong shape, NaN/inf, zero rows)."""
