"""Gymnasium spaces that follow a growing catalog (``env.unwrapped.world.add_items``).

The banditsim envs read their spaces from the world: once items are added, ``action_space``
(``Discrete(n)`` / ``MultiDiscrete``), ``observation_space["mask"]`` (``MultiBinary(n)``), the
observations, ``action_masks()`` and ``info["action_mask"]`` all have the new ``n`` at once, and
the new items can be shown. Wrappers and learners that copied a space when they were built
(``FlattenObservation``, ``NormalizeObservation``, Stable-Baselines3's VecEnvs and policies, whose
networks have one output per item) cannot follow: rebuild them after the catalog grows (or keep the
catalog fixed while such a learner trains).
"""

from __future__ import annotations


class FollowsCatalog:
    """Mixin for an env with a ``world``: its spaces are rebuilt whenever ``world.n_items`` changed.

    Subclasses implement ``_build_spaces(n)`` (returns a dict of space attributes) and
    ``_catalog_grew()`` (refreshes what else depends on ``n``, such as the last mask).
    """

    _spaces: dict | None = None
    _spaces_n: int = -1

    def _follow_catalog(self) -> None:
        """Rebuild the spaces (and the last mask) if the world's catalog changed size."""
        n = self.world.n_items
        if n != self._spaces_n:
            grew = self._spaces_n >= 0
            self._spaces = self._build_spaces(n)
            self._spaces_n = n
            if grew:
                self._catalog_grew()

    def _space(self, name: str):
        self._follow_catalog()
        return self._spaces[name]

    action_space = property(lambda self: self._space("action_space"))
    observation_space = property(lambda self: self._space("observation_space"))
