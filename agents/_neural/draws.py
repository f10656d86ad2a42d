"""Score draws of ``neural_linear_ts`` from the net and last-layer posterior frozen at act time,
and its Monte-Carlo propensities drawn only when ``Decision.propensities`` is read.

A row's sampled scores are f_k·θ with θ = μ + σ·F·ε (F·Fᵀ = Σ, ε standard normal), f_k the
features of item k under the row's replica's net.  ``FrozenScores`` keeps what those draws need,
as it was when the agent acted: the net's weights (the agent replaces them when it retrains, never
changes them in place), the rows' inputs and a copy of their replicas' (μ, F).  The features are
computed again on a read instead of being kept (B × K × (H+1) floats a decision).

``lazy_propensities`` is the estimator of ``banditsim.agents._propensity.monte_carlo.monte_carlo_propensities``:
(1 + hits) / (1 + n_propensity_draws), hits counted over n_propensity_draws further draws, and the
matching distribution over items.  Single items go through blocks of rows, the normals of all a
block's draws made at once and multiplied in cache-sized chunks of draws (one (n × H+1)·(H+1 × K)
product per row, the mask folded into it, the argmax by numpy on the CPU, where torch's argmax is
far slower); slates through ``monte_carlo_propensities`` itself.  The
draws come from a torch generator seeded at act time from the agent's propensity stream
(``SamplingAgent._propensity_rng``): reading them late, out of order or not at all never changes
the actions or another decision's propensities.
"""

from __future__ import annotations

import numpy as np

from banditsim._blas_threads import one_blas_and_torch_thread as one_blas_thread
from banditsim.agents._neural.inputs import long_tensor
from banditsim.agents._neural.net import RowLayout, Weights, all_item_features
from banditsim.agents._propensity.monte_carlo import monte_carlo_propensities

_CHUNK = 1 << 21  # score elements per block of rows (rows × draws × items), as monte_carlo_propensities
_DRAW_CHUNK = 1 << 19  # score elements multiplied and reduced at a time within a block (a 2 MiB float32 product)


class FrozenScores:
    """Posterior score draws (B rows × K items) as of the act that built it."""

    def __init__(self, weights: Weights, x, items, layout: RowLayout, mean, factor, scale: float, n_arms: int):
        self.weights, self.x, self.items, self.layout = weights, x, items, layout
        self.scale, self.n_arms = scale, n_arms
        idx = long_tensor(layout.replicas, x.device)
        self.mean, self.factor = mean[idx], factor[idx]  # copies: later updates do not reach them
        self.group = None if layout.single else layout.group_on(x.device)
        self._feats = None

    @property
    def n_rows(self) -> int:
        return self.layout.n

    def features(self):
        """(B, K, H+1) features of every (row, item) pair under the frozen net (the ones computed when
        acting while ``LastAct`` keeps them, else computed again: the same numbers)."""
        import torch

        if self._feats is not None:
            return self._feats
        with torch.no_grad():
            return all_item_features(self.weights, self.x, self.items, self.layout)

    def normals(self, m: int, n_rows: int, gen):
        """(m, n_rows, H+1) standard normals from ``gen``."""
        import torch

        return torch.randn(m, n_rows, self.mean.shape[1], generator=gen, device=self.x.device)

    def scores(self, feats, z, lo: int = 0, bias=None):
        """(b, m, K) float32 scores of rows lo..lo+b for the draws ``z`` (m, b, H+1); ``bias`` (b, 1, K)
        is added (0, or −inf where an item is blocked).  A NaN parameter draw is refused."""
        return self.products(feats, self.parameters(z, lo), lo, bias)

    def parameters(self, z, lo: int = 0):
        """(b, m, H+1) last-layer draws θ = μ + σ·F·z of rows lo..lo+b for the normals ``z`` (m, b, H+1);
        a NaN draw is refused."""
        import torch

        if self.group is None:  # one replica
            theta = torch.matmul(z, self.factor[0].T).mul_(self.scale).add_(self.mean[0]).transpose(0, 1)
        else:
            group = self.group[lo:lo + z.shape[1]]
            theta = torch.einsum("bfg,mbg->bmf", self.factor[group], z).mul_(self.scale)
            theta.add_(self.mean[group][:, None, :])
        if torch.isnan(theta).any():
            raise FloatingPointError("agent produced NaN scores")
        return theta

    @staticmethod
    def products(feats, theta, lo: int = 0, bias=None):
        """(b, m, K) scores f·θ of rows lo..lo+b for their draws ``theta`` (b, m, H+1), plus ``bias``."""
        import torch

        block = feats[lo:lo + theta.shape[0]].transpose(1, 2)
        return torch.bmm(theta, block) if bias is None else torch.baddbmm(bias, theta, block)

    def numpy_draw(self, gen, feats=None):
        """``draw(n) -> (n, B, K)`` float64 score draws from ``gen`` (the ``SamplingAgent._sampler`` hook)."""
        feats = self.features() if feats is None else feats

        def draw(n: int) -> np.ndarray:
            import torch

            with torch.no_grad():
                return self.scores(feats, self.normals(n, self.n_rows, gen)).transpose(0, 1).double().cpu().numpy()

        return draw


class LastAct:
    """Keeps the features of an agent's latest act for its propensity read, and only those: the next
    act drops them (a read right after acting, as a logged run makes, skips recomputing them; a
    decision held unread costs its inputs, not B × K × (H+1) floats).  Never pickled."""

    def __init__(self) -> None:
        self._frozen: FrozenScores | None = None

    def hand_over(self, frozen: FrozenScores, feats) -> None:
        """``frozen`` (acted with ``feats``) becomes the latest act; the previous one forgets its features."""
        if self._frozen is not None:
            self._frozen._feats = None
        frozen._feats = feats
        self._frozen = frozen

    def __reduce__(self):
        return (LastAct, ())


def generator(seed: int, device):
    """A torch generator on ``device`` seeded with ``seed``."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def row_blocks(n_rows: int, n_arms: int, n_draws: int) -> list[tuple[int, int]]:
    """(lo, hi) blocks of rows whose n_draws × n_arms scores fit in ``_CHUNK`` elements (≥ 1 row)."""
    step = max(1, _CHUNK // max(1, n_draws * n_arms))
    return [(lo, min(lo + step, n_rows)) for lo in range(0, n_rows, step)]


def draw_chunks(n_rows: int, n_arms: int, n_draws: int) -> list[tuple[int, int]]:
    """(lo, hi) ranges of draws whose n_rows × (hi − lo) × n_arms scores fit in ``_DRAW_CHUNK`` elements
    (≥ 1 draw): the argmax reads each product while it is still in cache."""
    step = max(1, _DRAW_CHUNK // max(1, n_rows * n_arms))
    return [(lo, min(lo + step, n_draws)) for lo in range(0, n_draws, step)]


def _argmax(scores) -> np.ndarray:
    """Index of the first maximum along the last axis, as numpy (on the host: numpy's is much faster)."""
    if scores.device.type == "cpu":
        return scores.numpy().argmax(axis=-1)
    return scores.argmax(dim=-1).cpu().numpy()


def single_item_counts(frozen: FrozenScores, chosen: np.ndarray, mask: np.ndarray | None, n_draws: int, seed: int):
    """(hits (B,), counts (B, K)): how often each row's ``chosen`` item, and each item, wins the masked
    argmax of ``n_draws`` draws; the draws of rows lo..hi (``row_blocks``) are the next (n_draws,
    hi − lo, H+1) normals of the generator seeded with ``seed``."""
    import torch

    gen = generator(seed, frozen.x.device)
    with one_blas_thread(), torch.no_grad():
        feats = frozen.features()  # NaN-free: the act's own draw from them passed top_k's check
        n_rows, n_arms = feats.shape[0], feats.shape[1]
        bias = None
        if mask is not None:
            blocked = torch.from_numpy(~mask).to(feats.device)[:, None, :]
            bias = torch.zeros(n_rows, 1, n_arms, device=feats.device).masked_fill_(blocked, -torch.inf)
        hits = np.zeros(n_rows)
        counts = np.zeros((n_rows, n_arms))
        for lo, hi in row_blocks(n_rows, n_arms, n_draws):
            theta = frozen.parameters(frozen.normals(n_draws, hi - lo, gen), lo)  # (b, n_draws, H+1)
            block_bias = None if bias is None else bias[lo:hi]
            best = np.concatenate([_argmax(frozen.products(feats, theta[:, d:e], lo, block_bias))  # (b, e − d)
                                   for d, e in draw_chunks(hi - lo, n_arms, n_draws)], axis=1)
            hits[lo:hi] = (best == chosen[lo:hi, None]).sum(axis=1)
            flat = best + (np.arange(hi - lo) * n_arms)[:, None]
            counts[lo:hi] = np.bincount(flat.ravel(), minlength=(hi - lo) * n_arms).reshape(hi - lo, n_arms)
    return hits, counts


def lazy_propensities(frozen: FrozenScores, items: np.ndarray, mask: np.ndarray | None, n_draws: int, seed: int):
    """``(propensities, probabilities)`` as functions computing, on first call, the estimate of
    ``monte_carlo_propensities`` from the draws of ``seed`` (probabilities None for slates)."""
    held = [frozen]  # dropped once the estimate is made: a read decision keeps only its numbers
    cache: list = []
    n_rows, k = items.shape

    def estimate():
        if not cache:
            if k == 1:
                hits, counts = single_item_counts(held[0], items[:, 0], mask, n_draws, seed)
                counts[np.arange(n_rows), items[:, 0]] += 1.0  # the realised draw: always a hit
                cache.append(((1.0 + hits[:, None]) / (1.0 + n_draws), counts / (1.0 + n_draws)))
            else:
                with one_blas_thread():
                    draw = held[0].numpy_draw(generator(seed, held[0].x.device))
                    cache.append(monte_carlo_propensities(draw, items, mask, n_draws, held[0].n_arms))
            held[0]._feats = None
            held.clear()
        return cache[0]

    probabilities = (lambda: estimate()[1]) if k == 1 else None
    return (lambda: estimate()[0]), probabilities
