"""Fixtures for the OPE tests: synthetic slate logs with a known ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from banditsim.sim.ope import SlateLog, cascade_pscore


def make_slate_data(n_slates: int, n_items: int, len_list: int, reward_model: str, seed: int):
    """Slates drawn position by position from context-free behaviour distributions.

    ``reward_model="independent"``: r_k ~ Bernoulli(q[k, a_k]);
    ``"cascade"``: r_k ~ Bernoulli(q[k, a_k] * prod_{j<k} c[a_j]) (earlier items matter).
    Returns the log, evaluation item-position and cascade pscores, and the true value.
    """
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len_list, n_items))
    p_b = np.exp(0.5 * logits) / np.exp(0.5 * logits).sum(axis=1, keepdims=True)
    p_e = np.exp(logits[::-1]) / np.exp(logits[::-1]).sum(axis=1, keepdims=True)
    q = rng.uniform(0.05, 0.6, size=(len_list, n_items))
    c = rng.uniform(0.05, 1.0, size=n_items)
    cum = np.cumsum(p_b, axis=1)
    u = rng.random((n_slates, len_list))
    items = np.stack([np.minimum((cum[k] < u[:, k:k + 1]).sum(axis=1), n_items - 1)
                      for k in range(len_list)], axis=1)
    pos = np.arange(len_list)
    mean = q[pos, items]
    if reward_model == "cascade":
        cont = np.cumprod(c[items], axis=1)
        mean = mean * np.hstack([np.ones((n_slates, 1)), cont[:, :-1]])
        e_q = (p_e * q).sum(axis=1)
        e_c = p_e @ c
        truth = float((e_q * np.r_[1.0, np.cumprod(e_c)[:-1]]).sum())
    else:
        truth = float((p_e * q).sum())
    reward = (rng.random(mean.shape) < mean).astype(float)
    slate_id = np.repeat(np.arange(n_slates), len_list)
    position = np.tile(pos, n_slates)
    flat_items = items.ravel()
    pb_ip = p_b[position, flat_items]
    pe_ip = p_e[position, flat_items]
    log = SlateLog(
        slate_id=slate_id, position=position, reward=reward.ravel(),
        pscore_item_position=pb_ip, pscore_cascade=cascade_pscore(slate_id, position, pb_ip),
    )
    return log, pe_ip, cascade_pscore(slate_id, position, pe_ip), truth


@pytest.fixture
def slate_data():
    """Factory for synthetic slate logs: see :func:`make_slate_data`."""
    return make_slate_data
