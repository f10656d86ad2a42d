"""banditsim's world: catalog, embeddings, users, feedback, the batched World and Gymnasium envs.

Importing the package registers the Gymnasium ids ``banditsim/Recommend-v0`` and
``banditsim/Slate-v0``.
"""

from banditsim.envs.registration import register_envs

register_envs()
