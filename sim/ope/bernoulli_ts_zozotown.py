"""Bernoulli Thompson sampling as an evaluation policy for the Open Bandit Dataset check.

The action distribution follows Open Bandit Pipeline 0.4.1's
``BernoulliTS.compute_batch_action_dist``: each of ``n_sim`` simulated rounds draws one
value per item from ``Beta(alpha, beta)`` and fills positions ``0..len_list-1`` with the
items of highest draw, best first; ``action_dist[a, k]`` is the share of simulated rounds
with item ``a`` at position ``k``. It is context-free, so the same for every logged round.

Here the draws are vectorised: one ``(batch, n_actions)`` block of Beta draws and one
``argsort`` per block (a loop over blocks only). Draws come from
``numpy.random.RandomState(seed)`` in the order obp draws them, so the same seed gives
obp's action distribution exactly.

The ZOZOTOWN prior (``alpha``, ``beta`` per item id, for campaigns ``all``, ``men``,
``women``) is read from the installed ``obp`` package's ``policy/conf/prior_bts.yaml`` by
path; ``obp`` itself is not imported and its data are never copied here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from banditsim.sim.ope.log import OPEInputError

ZOZOTOWN_CAMPAIGNS = ("all", "men", "women")


def zozotown_prior_path() -> Path:
    """Path of ``prior_bts.yaml`` inside the installed ``obp`` package (not imported)."""
    spec = importlib.util.find_spec("obp")
    if spec is None or not spec.submodule_search_locations:
        raise OPEInputError("obp is not installed (needed for the ZOZOTOWN prior): "
                            "pip install --no-deps obp==0.4.1")
    return Path(next(iter(spec.submodule_search_locations))) / "policy" / "conf" / "prior_bts.yaml"


def load_zozotown_prior(campaign: str = "all", path: str | Path | None = None):
    """Return ``(alpha, beta)``, float arrays indexed by item id, of ZOZOTOWN's BTS prior.

    Examples
    --------
    >>> a, b = load_zozotown_prior("all")
    >>> a.shape, b.shape, bool((a > 0).all() and (b > 0).all())
    ((80,), (80,), True)
    """
    import yaml

    if campaign not in ZOZOTOWN_CAMPAIGNS:
        raise OPEInputError(f"campaign must be one of {ZOZOTOWN_CAMPAIGNS}, got {campaign!r}")
    path = Path(path) if path is not None else zozotown_prior_path()
    if not path.is_file():
        raise OPEInputError(f"ZOZOTOWN prior file not found: {path}")
    with open(path, "rb") as f:
        prior = yaml.safe_load(f)
    try:
        alpha = np.asarray(prior[campaign]["alpha"], dtype=np.float64)
        beta = np.asarray(prior[campaign]["beta"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise OPEInputError(f"{path}: no numeric alpha/beta lists for campaign {campaign!r} ({err})")
    _check_beta_params(alpha, beta)
    return alpha, beta


def _check_beta_params(alpha: np.ndarray, beta: np.ndarray) -> None:
    if alpha.ndim != 1 or alpha.shape != beta.shape or alpha.size == 0:
        raise OPEInputError(
            f"alpha and beta must be 1-d arrays of one length, got shapes {alpha.shape} and {beta.shape}"
        )
    if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(beta))
            and np.all(alpha > 0) and np.all(beta > 0)):
        raise OPEInputError("alpha and beta must be finite and > 0 for every item")


def sample_bernoulli_ts_slates(
    alpha,
    beta,
    len_list: int = 3,
    n_sim: int = 100_000,
    random_state: int = 12345,
    batch_size: int = 20_000,
) -> np.ndarray:
    """Simulate ``n_sim`` Bernoulli-TS slates: an int array ``(n_sim, len_list)`` of item
    ids, highest Beta draw first (obp's ``select_action``, in obp's draw order).

    ``batch_size`` rows of draws are made at a time (memory only: the result does not
    depend on it).

    Examples
    --------
    >>> sample_bernoulli_ts_slates([1000.0, 1.0], [1.0, 1000.0], len_list=2, n_sim=3).tolist()
    [[0, 1], [0, 1], [0, 1]]
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    _check_beta_params(alpha, beta)
    n_actions = alpha.size
    if not (isinstance(len_list, (int, np.integer)) and 1 <= len_list <= n_actions):
        raise OPEInputError(f"len_list must be an integer in 1..{n_actions} (the items), got {len_list!r}")
    if not (isinstance(n_sim, (int, np.integer)) and n_sim >= 1):
        raise OPEInputError(f"n_sim must be a positive integer, got {n_sim!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise OPEInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(random_state, (int, np.integer)) and 0 <= random_state < 2**32):
        raise OPEInputError(f"random_state must be an integer seed in [0, 2**32), got {random_state!r}")
    rng = np.random.RandomState(random_state)
    slates = np.empty((n_sim, len_list), dtype=np.int64)
    for start in range(0, n_sim, batch_size):
        stop = min(start + batch_size, n_sim)
        draws = rng.beta(alpha, beta, size=(stop - start, n_actions))
        # obp: predicted_rewards.argsort()[::-1][:len_list] (same sort, same tie order)
        slates[start:stop] = np.argsort(draws, axis=1)[:, ::-1][:, :len_list]
    return slates


def slate_action_dist(slates: np.ndarray, n_actions: int) -> np.ndarray:
    """``(n_actions, len_list)``: the share of simulated slates with item ``a`` at position ``k``.

    Examples
    --------
    >>> slate_action_dist(np.array([[0, 1], [1, 0], [0, 2], [0, 1]]), 3).tolist()
    [[0.75, 0.25], [0.25, 0.5], [0.0, 0.25]]
    """
    n_sim, len_list = slates.shape
    key = slates * len_list + np.arange(len_list)[None, :]
    counts = np.bincount(key.ravel(), minlength=n_actions * len_list)
    return counts.reshape(n_actions, len_list) / n_sim


def bernoulli_ts_action_dist(
    alpha, beta, len_list: int = 3, n_sim: int = 100_000, random_state: int = 12345
) -> np.ndarray:
    """Bernoulli TS's ``(n_actions, len_list)`` action distribution by ``n_sim`` simulations.

    Equal to obp 0.4.1's ``BernoulliTS(..., random_state=seed).compute_batch_action_dist(
    n_rounds=1, n_sim=n_sim)[0]`` for the same prior and seed. Broadcast it over rounds for
    the estimators.

    Examples
    --------
    >>> a, b = load_zozotown_prior("men")
    >>> dist = bernoulli_ts_action_dist(a, b, n_sim=1_000)
    >>> dist.shape, bool(np.allclose(dist.sum(axis=0), 1.0))
    ((34, 3), True)
    """
    slates = sample_bernoulli_ts_slates(alpha, beta, len_list, n_sim, random_state)
    return slate_action_dist(slates, np.asarray(alpha).size)
