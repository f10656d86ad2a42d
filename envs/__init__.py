"""The simulated world: catalogs, LLM embeddings, users, feedback, Gymnasium envs."""
