"""The per-replica network of ``neural_linear_ts``: features of (row, item) pairs, one batched
product per layer.

Every replica r has its own two-layer ReLU net (weights ``w_user`` (R, d_user, H), ``w_item``
(R, d_item, H), ``b1`` (R, H), ``w2`` (R, H, H), ``b2`` (R, H)); the features of a (row, item) pair
are f = [relu(relu(x·W_u + z·W_i + b1)·W2 + b2), 1].  Rows are grouped by replica
(``RowLayout``): a batch of one replica is plain products with that replica's weights, one row
per replica one batched product, and no row takes its own copy of a weight matrix unless grouping
would pad more than it saves.  Items given as ``None`` are one-hot ids: their first-layer term is
the row of ``w_item`` (no K × K identity is built).  An item's term is computed once per replica,
not per row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditsim.agents._neural.inputs import long_tensor
from banditsim.agents._selection.row_groups import group_pairs

_HIDDEN_CHUNK = 1 << 18  # hidden-layer values (rows × items × (H+1)) of one replica made at a time


class Weights(NamedTuple):
    """The five weight tensors of the per-replica nets (the head is not part of the features)."""

    w_user: object
    w_item: object
    b1: object
    w2: object
    b2: object

    def of(self, r: int) -> Weights:
        """Replica ``r``'s weights (views, no copy)."""
        return Weights(*(w[r] for w in self))


class RowLayout:
    """Rows (n) of replicas ``rep`` arranged as a (G, W) block: ``pack`` (n, …) → (G, W, …) with
    zero padding, ``unpack`` back.  Grouped by replica when G·W ≤ 2n (one replica, one row per
    replica, balanced batches), otherwise one group per row (G = n, W = 1).  Also: ``replicas``
    (the distinct ones, sorted), ``group`` (each row's index into them) and ``occurrence`` (how many
    earlier rows share its replica).

    >>> lay = RowLayout(np.array([1, 0, 1]))
    >>> lay.reps.tolist(), lay.width, lay.group.tolist(), lay.occurrence.tolist()
    ([0, 1], 2, [1, 0, 1], [0, 0, 1])
    """

    def __init__(self, rep: np.ndarray):
        order, group, slot, ids, width = group_pairs(rep)
        self.n = rep.size
        self.replicas = ids
        self.group = np.empty(rep.size, dtype=np.int64)
        self.group[order] = group
        self.occurrence = np.empty(rep.size, dtype=np.int64)
        self.occurrence[order] = slot
        if ids.size * width <= 2 * rep.size:
            self.reps, self.width = ids, width
            self._order, self._group, self._slot = order, group, slot
        else:  # very unbalanced: padding would cost more than a weight copy per row
            self.reps, self.width = rep, 1
            self._order = self._group = np.arange(rep.size)
            self._slot = np.zeros(rep.size, dtype=np.int64)
        self.single = ids.size == 1  # one replica: plain products with its weights
        self.identity = self.width == 1 and bool(np.all(self._order == np.arange(self.n)))
        self.padded = self.reps.size * self.width > self.n  # some groups are short: zeros fill them
        self._tensors: dict = {}

    def _on(self, key: str, values: np.ndarray, device):
        if (key, device) not in self._tensors:
            self._tensors[key, device] = long_tensor(values, device)
        return self._tensors[key, device]

    def reps_on(self, device):
        """The groups' replicas as a long tensor on ``device``."""
        return self._on("reps", self.reps, device)

    def group_on(self, device):
        """Each row's index into ``replicas`` as a long tensor on ``device``."""
        return self._on("group", self.group, device)

    def pack(self, values):
        """(n, …) → (G, W, …), rows of one replica side by side, zeros where a group is short."""
        if self.identity:
            return values[:, None]
        if self.reps.size == 1:
            return values[None]
        order, group, slot = (self._on(k, v, values.device) for k, v in
                              (("order", self._order), ("g", self._group), ("slot", self._slot)))
        out = values.new_zeros((self.reps.size, self.width, *values.shape[1:]))
        out[group, slot] = values[order]
        return out

    def unpack(self, block):
        """(G, W, …) → (n, …) in the rows' original order."""
        if self.identity:
            return block[:, 0]
        if self.reps.size == 1:
            return block[0]
        order, group, slot = (self._on(k, v, block.device) for k, v in
                              (("order", self._order), ("g", self._group), ("slot", self._slot)))
        out = block.new_empty((self.n, *block.shape[2:]))
        out[order] = block[group, slot]
        return out


def _with_ones(h):
    import torch

    return torch.cat([h, torch.ones_like(h[..., :1])], dim=-1)


def _item_term(w_item, z):
    """z·W_i: ``z`` item ids (one-hot items: rows of W_i) or item rows (…, d_item); one replica."""
    import torch

    return torch.matmul(z, w_item) if z.is_floating_point() else w_item[z]


def grouped_pair_features(weights: Weights, xg, zg, reps):
    """Features (G, W, H+1) of grouped pairs: user rows ``xg`` (G, W, d_user) of replicas ``reps``
    (G,), their items ``zg``: item ids (G, W) (integers: one-hot items) or item rows (G, W, d_item)."""
    import torch

    if reps.numel() == 1:  # one replica: plain products with its weights
        return single_pair_features(weights.of(int(reps[0])), xg[0], zg[0])[None]
    w_user, w_item, b1, w2, b2 = weights
    pre = torch.bmm(xg, w_user[reps])
    if zg.is_floating_point():
        pre = pre + torch.bmm(zg, w_item[reps])
    else:
        pre = pre + w_item[reps[:, None], zg]
    h = torch.relu(pre + b1[reps][:, None, :])
    return _with_ones(torch.relu(torch.bmm(h, w2[reps]) + b2[reps][:, None, :]))


def single_pair_features(weights: Weights, x, z):
    """Features (n, H+1) of n pairs of one replica (``weights.of(r)``); ``z`` ids or item rows."""
    import torch

    w_user, w_item, b1, w2, b2 = weights
    h = torch.relu(x @ w_user + _item_term(w_item, z) + b1)
    return _with_ones(torch.relu(h @ w2 + b2))


def pair_features(weights: Weights, x, z, layout: RowLayout):
    """Features (n, H+1) of row i with its item ``z[i]``: an id (one-hot items) or an item row."""
    block = grouped_pair_features(weights, layout.pack(x), layout.pack(z), layout.reps_on(x.device))
    return layout.unpack(block)


def _augmented(w2, b2):
    """[[W2, 0], [b2, 1]] ((…, H+1, H+1)): [h, 1]·it = [h·W2 + b2, 1], so the second layer, its bias
    and the constant feature are one product (no (B, K, H) bias pass, no concatenation)."""
    import torch

    top = torch.cat([w2, torch.zeros_like(w2[..., :1])], dim=-1)
    bottom = torch.cat([b2, torch.ones_like(b2[..., :1])], dim=-1)[..., None, :]
    return torch.cat([top, bottom], dim=-2)


def _append(t, value: float):
    """``t`` with a last column of ``value``."""
    import torch

    return torch.cat([t, torch.full_like(t[..., :1], value)], dim=-1)


def all_item_features(weights: Weights, x, items, layout: RowLayout):
    """Features (B, K, H+1) of every (row, item) pair, rows using their replica's net.

    ``items`` (K, d_item), or None for one-hot items.  The item term z·W_i is computed once per
    distinct replica (K × d_item × H each), the user term once per row; per pair there are one
    addition, two ReLUs and one product (the constant feature rides along: ``_augmented``)."""
    import torch

    if layout.single:
        w_user, w_item, b1, w2, b2 = weights.of(int(layout.replicas[0]))
        item = _append(w_item if items is None else items @ w_item, 1.0)  # (K, H+1)
        user, second = _append(x @ w_user + b1, 0.0), _augmented(w2, b2)
        out = item.new_empty((x.shape[0], *item.shape))
        step = max(1, _HIDDEN_CHUNK // item.numel())
        for lo in range(0, x.shape[0], step):  # the hidden layer of a few rows at a time, while it is in cache
            h = torch.relu_(item[None, :, :] + user[lo:lo + step, None, :])
            torch.relu_(torch.matmul(h, second, out=out[lo:lo + step]))
        return out
    w_user, w_item, b1, w2, b2 = weights
    reps = layout.reps_on(x.device)
    user = layout.unpack(torch.bmm(layout.pack(x), w_user[reps]))  # (B, H)
    rep_ids = long_tensor(layout.replicas, x.device)
    group = layout.group_on(x.device)
    item = _append(w_item[rep_ids] if items is None else torch.matmul(items, w_item[rep_ids]), 1.0)  # (G, K, H+1)
    h = torch.relu_(item.index_select(0, group).add_(_append(user + b1[rep_ids][group], 0.0)[:, None, :]))
    return torch.relu_(torch.bmm(h, _augmented(w2[rep_ids], b2[rep_ids]).index_select(0, group)))
