"""Ordinal feedback: utility → probabilities of the feedback kinds (:data:`banditsim.envs.feedback_kinds.KINDS`).

One cumulative-logit model covers all kinds. A user has a negative threshold
``tau_neg``, a positive threshold ``tau_pos`` (> ``tau_neg``) and a temperature ``T``.
The latent response is ``u + T·ε`` with ε standard logistic; the kind is the number of
cut points below it. Each kind's lower cut point comes from its entry in
:data:`banditsim.envs.feedback_kinds.FEEDBACK_KINDS`; with the default kinds they are::

    tau_neg − o2·T, tau_neg − o1·T, tau_neg, tau_pos, tau_pos + o1·T, tau_pos + o2·T, tau_pos + o3·T

(o1 = ``inner_offset``, o2 = ``outer_offset``, o3 = ``share_offset``), so
``P(negative) = σ((tau_neg − u)/T)``, ``P(positive) = σ((u − tau_pos)/T)`` and the rest is
neutral. Within the negatives, a lower utility moves mass from skip to dislike to block;
within the positives, a higher utility moves mass from click to like to save to share.
Every kind distribution is stochastically increasing in ``u``. Adding the ``share`` cut point
above ``save``'s only splits the old ``save`` answers: the same uniform draw gives the same
kind everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from scipy.special import expit

from banditsim.envs.feedback_kinds import CUT_OFFSETS, FEEDBACK_KINDS, N_CUTS
from banditsim.envs.parameters import Param, check_parameters
from banditsim.envs.world_errors import WorldConfigError


def _offset_order() -> tuple[tuple[str, str], ...]:
    """(nearer, farther) names of neighbouring offsets on one threshold, from the kind table.

    Walking away from a threshold (down the table from ``tau_neg``, up it from ``tau_pos``) the
    offsets must grow, so that the cut points increase from the worst kind to the best.

    >>> _offset_order()
    (('inner_offset', 'outer_offset'), ('outer_offset', 'share_offset'))
    """
    pairs: list[tuple[str, str]] = []
    for anchor, walk in (("neg", FEEDBACK_KINDS[:0:-1]), ("pos", FEEDBACK_KINDS[1:])):
        names = [k.offset_name for k in walk if k.cut[0] == anchor and k.offset_name]
        pairs += [p for p in zip(names, names[1:]) if p not in pairs]
    return tuple(pairs)


#: one float field per offset the kind table declares, in table order (so also positionally)
_OffsetFields = make_dataclass("_OffsetFields", [(k.offset_name, float, field(default=k.offset_default))
                                                 for k in CUT_OFFSETS], frozen=True)
_OffsetFields.__module__ = __name__


@dataclass(frozen=True)
class FeedbackModel(_OffsetFields):
    """Offsets (in temperature units) of the inner cut points; see the module docstring.

    Its fields are the offsets the kinds of :data:`banditsim.envs.feedback_kinds.FEEDBACK_KINDS` declare
    (``inner_offset``, ``outer_offset``, ``share_offset``), each with its default and help text.

    >>> FeedbackModel().cut_points(np.array([-1.0]), np.array([1.0]), np.array([0.5])).tolist()
    [[-2.0, -1.5, -1.0, 1.0, 1.5, 2.0, 2.5]]
    >>> FeedbackModel(share_offset=1.5)
    Traceback (most recent call last):
    ...
    banditsim.envs.world_errors.WorldConfigError: share_offset must be above outer_offset
    """

    parameters: ClassVar[dict[str, Param]] = {
        k.offset_name: Param(k.offset_help, gt=0, finite=True) for k in CUT_OFFSETS}
    offset_order: ClassVar[tuple[tuple[str, str], ...]] = _offset_order()

    def __post_init__(self):
        check_parameters(self, "feedback")
        for nearer, farther in self.offset_order:
            if not getattr(self, nearer) < getattr(self, farther):
                raise WorldConfigError(self._order_message(nearer, farther))

    def _order_message(self, nearer: str, farther: str) -> str:
        """The broken order, said of the offset a user moved: ``farther``'s when only it left its default."""
        default = {f.name: f.default for f in fields(self)}
        if getattr(self, farther) != default[farther] and getattr(self, nearer) == default[nearer]:
            return f"{farther} must be above {nearer}"
        return f"{nearer} must be below {farther}"

    def offsets(self) -> list[tuple[str, float]]:
        """(threshold, signed offset in temperature units) of each cut point, worst kind first.

        >>> FeedbackModel().offsets()[-1]
        ('pos', 3.0)
        """
        out = []
        for kind in FEEDBACK_KINDS[1:]:
            anchor, signed_name = kind.cut
            sign = -1.0 if signed_name.startswith("-") else 1.0
            out.append((anchor, sign * float(getattr(self, kind.offset_name)) if signed_name else 0.0))
        return out

    def cut_points(self, tau_neg, tau_pos, temperature):
        """(n, N_CUTS) cut points from per-user thresholds and temperature (numpy or torch)."""
        cols = [(tau_neg if anchor == "neg" else tau_pos) + off * temperature for anchor, off in self.offsets()]
        if isinstance(tau_neg, np.ndarray):
            return np.stack(cols, axis=-1)
        import torch

        return torch.stack(cols, dim=-1)


def _sig(x):
    if isinstance(x, np.ndarray):
        return expit(x)
    import torch

    return torch.sigmoid(x)


def kind_probabilities(utility, cuts, temperature):
    """P(kind) for utilities ``utility`` (..., ) with cuts (..., N_CUTS) → (..., N_KINDS).

    >>> cuts = FeedbackModel().cut_points(np.array([-1.0]), np.array([1.0]), np.array([0.5]))
    >>> p = kind_probabilities(np.array([0.0]), cuts, np.array([0.5]))
    >>> round(float(p.sum()), 6), round(float(p[0, 3]), 3)
    (1.0, 0.762)
    """
    cdf = _sig((cuts - utility[..., None]) / temperature[..., None])  # P(kind <= k), k=0..5
    if isinstance(cdf, np.ndarray):
        full = np.concatenate([np.zeros_like(cdf[..., :1]), cdf, np.ones_like(cdf[..., :1])], axis=-1)
        return np.diff(full, axis=-1)
    import torch

    full = torch.cat([torch.zeros_like(cdf[..., :1]), cdf, torch.ones_like(cdf[..., :1])], dim=-1)
    return full[..., 1:] - full[..., :-1]


def expected_reward(utility, cuts, temperature, rewards):
    """Exact expected reward Σ_k P(kind k)·r_k; ``rewards`` (N_KINDS,) of the same array type.

    Computed as r_top − Σ_{k<top} P(kind ≤ k)(r_{k+1} − r_k), which needs no (…, N_KINDS) array.

    >>> cuts = FeedbackModel().cut_points(np.array([-1.0]), np.array([1.0]), np.array([0.5]))
    >>> r = np.array([-1, -0.5, -0.1, 0, 0.5, 1, 1, 1])
    >>> float(np.round(expected_reward(np.array([5.0]), cuts, np.array([0.5]), r), 3)[0])
    1.0
    """
    steps = rewards[1:] - rewards[:-1]
    inv_t = 1.0 / temperature
    if isinstance(utility, np.ndarray) and utility.size <= 1 << 16:
        # small batches: one (…, N_CUTS) sigmoid instead of N_CUTS
        z = cuts - utility[..., None]
        z *= inv_t[..., None]
        cdf = expit(z)
        cdf *= steps.astype(cdf.dtype, copy=False)
        return rewards[-1] - cdf.sum(-1)
    out = None
    for k in range(N_CUTS):
        step = float(steps[k])
        if step == 0.0:
            continue
        term = _sig((cuts[..., k] - utility) * inv_t) * step
        out = term if out is None else out + term
    base = rewards[-1] + 0 * utility
    return base if out is None else base - out


def sample_kinds(utility, cuts, temperature, uniforms):
    """Draw kind codes by inverse CDF: latent = u + T·logit(U), kind = #cuts below latent.

    >>> cuts = FeedbackModel().cut_points(np.array([-1.0, -1.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    >>> sample_kinds(np.array([9.0, -9.0]), cuts, np.array([0.5, 0.5]), np.array([0.5, 0.5])).tolist()
    [7, 0]
    """
    if isinstance(uniforms, np.ndarray):
        eps = np.log(uniforms) - np.log1p(-uniforms)
    else:
        import torch

        eps = torch.log(uniforms) - torch.log1p(-uniforms)
    latent = utility + temperature * eps
    return (cuts < latent[..., None]).sum(-1)


# ---------------------------------------------------------------- per-slot fast path
# The batched world keeps each slot's cut points divided by its temperature, laid out (N_CUTS, n)
# so that every per-kind operation runs on a contiguous row: the same model as above, on the
# utility in temperature units y = u/T (P(kind ≤ k) = σ(c_k/T − y), kind = #{k: c_k/T < y + ε}).


def scaled_cuts(cuts, temperature):
    """(N_CUTS, n) cut points in temperature units c_k/T from cuts (n, N_CUTS) and temperature (n,).

    >>> scaled_cuts(np.array([[-2.0, -1.5, -1.0, 1.0, 1.5, 2.0, 2.5]]), np.array([0.5]))[:, 0].tolist()
    [-4.0, -3.0, -2.0, 2.0, 3.0, 4.0, 5.0]
    """
    ct = (cuts / temperature[:, None]).T
    return np.ascontiguousarray(ct) if isinstance(ct, np.ndarray) else ct.contiguous()


def expected_reward_scaled(y, ct, rewards):
    """Expected reward of utilities in temperature units ``y`` (..., n) with :func:`scaled_cuts` ``ct``.

    ``rewards`` (N_KINDS,) numpy. Equals :func:`expected_reward` of u = y·T.

    >>> cuts = FeedbackModel().cut_points(np.array([-1.0]), np.array([1.0]), np.array([0.5]))
    >>> r = np.array([-1, -0.5, -0.1, 0, 0.5, 1, 1, 1])
    >>> a = expected_reward_scaled(np.array([0.2 / 0.5]), scaled_cuts(cuts, np.array([0.5])), r)
    >>> bool(np.isclose(a[0], expected_reward(np.array([0.2]), cuts, np.array([0.5]), r)[0]))
    True
    """
    top, ks, w = _reward_steps(np.asarray(rewards, dtype=np.float64).tobytes())
    if not len(ks):
        return top + 0 * y
    c = ct if len(ks) == N_CUTS else ct[ks]
    z = _sig(c.reshape((len(ks),) + (1,) * (y.ndim - 1) + (ct.shape[1],)) - y[None])
    if isinstance(z, np.ndarray):
        return top - np.einsum("k,k...->...", w.astype(z.dtype, copy=False), z)
    import torch

    return top - torch.einsum("k,k...->...", torch.as_tensor(w, dtype=z.dtype, device=z.device), z)


@lru_cache(maxsize=64)
def _reward_steps(rewards_bytes: bytes):
    """(r_top, the cut points whose reward step is not 0, those steps) of a reward vector."""
    r = np.frombuffer(rewards_bytes, dtype=np.float64)
    steps = r[1:] - r[:-1]
    ks = [k for k in range(N_CUTS) if steps[k] != 0.0]  # cut points whose step is 0 add nothing
    return float(r[-1]), ks, steps[ks]


def sample_kinds_scaled(y, ct, uniforms):
    """Kind codes for utilities in temperature units ``y`` (n,), :func:`scaled_cuts` ``ct`` and uniforms (n,).

    Same draws as :func:`sample_kinds` (up to float rounding at the cut points).

    >>> cuts = FeedbackModel().cut_points(np.array([-1.0, -1.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    >>> ct = scaled_cuts(cuts, np.array([0.5, 0.5]))
    >>> sample_kinds_scaled(np.array([18.0, -18.0]), ct, np.array([0.5, 0.5])).tolist()
    [7, 0]
    """
    if isinstance(uniforms, np.ndarray):
        latent = np.log(uniforms) - np.log1p(-uniforms)
        latent += y
    else:
        import torch

        latent = torch.log(uniforms) - torch.log1p(-uniforms) + y
    return (ct < latent).sum(0)
