"""Neural-linear Thompson sampling (Riquelme et al. 2018) in torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from banditsim._device import resolve_device
from banditsim._blas_threads import one_blas_and_torch_thread as one_blas_thread
from banditsim._xp import cholesky
from banditsim.agents._neural.draws import FrozenScores, LastAct, lazy_propensities
from banditsim.agents._neural.inputs import ItemTensor, float_tensor, long_tensor
from banditsim.agents._neural.net import (
    RowLayout,
    Weights,
    all_item_features,
    grouped_pair_features,
    pair_features,
    single_pair_features,
)
from banditsim.agents._selection.ranking import top_k
from banditsim.agents._validation import check_float, check_int
from banditsim.agents.base import SamplingAgent

_WEIGHT_NAMES = ("w_user", "w_item", "b1", "w2", "b2")
_REBUILD_CELLS = 1 << 22  # input values (replicas × buffered rows × widths) gathered at a time in a rebuild

if TYPE_CHECKING:  # torch is imported where it is used: `import banditsim.agents` stays light
    import torch


def torch_device(device: str) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'auto' (cuda when available) → torch.device (:mod:`banditsim._device`)."""
    import torch

    return torch.device(resolve_device(device))


class NeuralLinearTSAgent(SamplingAgent):
    """An MLP learns features of (user, item); a Bayesian linear last layer does the sampling.

    Input of a (row, item) pair: [user features, item embedding] (a one-hot item id when no
    ``arm_features`` are given).  Two ReLU layers of ``hidden_size`` give features f; the
    last layer has posterior N(μ, noise_std²·Σ), Σ = (ridge·I + Σ ffᵀ)⁻¹, updated after every
    response and rebuilt from the replay buffer whenever the net is retrained (every
    ``retrain_every`` responses of a replica, ``n_train_steps`` Adam steps of squared error).
    Each replica has its own weights, buffer and posterior.  ``device``: 'cpu', 'cuda', 'auto'.

    Cost: an act computes the features of every (row, item) pair once (one batched product per
    layer, rows grouped by replica: ``banditsim.agents._neural.net``) and one posterior draw per
    row; the ``n_propensity_draws`` Monte-Carlo draws of the propensity are made only when
    ``Decision.propensities`` (or ``probabilities``) is first read, from the net and posterior the
    agent acted with (``banditsim.agents._neural.draws``), so an unlogged step pays nothing for
    them.  The net's forward/backward runs only in a retrain: every ``retrain_every`` responses of a replica
    (default 200, the representation's refresh cadence), ``n_train_steps`` steps of ``batch_size``
    pairs, then one pass over the buffer to rebuild the last layer; between retrains an update is one
    forward pass of the responded pairs and a (H+1)-sized Cholesky.  Acting, learning and reading
    run on one torch/BLAS thread (``banditsim._blas_threads``).

    Examples
    --------
    >>> from banditsim.agents import Context, Feedback
    >>> agent = NeuralLinearTSAgent(n_arms=3, hidden_size=8, retrain_every=4, n_train_steps=2,
    ...                             random_state=0, n_propensity_draws=16)
    >>> ctx = Context(features=np.ones((4, 2)))
    >>> d = agent.act(ctx)
    >>> agent.update(ctx, d, Feedback(reward=[1.0, 0.0, -1.0, 0.5]))
    >>> d.actions.shape, bool(np.all((d.propensities > 0) & (d.propensities <= 1)))
    ((4,), True)
    """

    name = "neural_linear_ts"
    test_params: ClassVar[dict[str, Any]] = {"hidden_size": 8, "retrain_every": 50, "n_train_steps": 3, "buffer_size": 256,
                   "n_propensity_draws": 16}

    def __init__(self, n_arms, *, hidden_size: int = 32, noise_std: float = 0.5, ridge: float = 1.0,
                 learning_rate: float = 1e-2, retrain_every: int = 200, n_train_steps: int = 50,
                 batch_size: int = 128, buffer_size: int = 4096, device: str = "cpu",
                 n_propensity_draws: int = 256, **kwargs):
        import torch
        super().__init__(n_arms, n_propensity_draws=n_propensity_draws, **kwargs)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.noise_std = check_float("noise_std", noise_std, 0.0, low_open=True)
        self.ridge = check_float("ridge", ridge, 0.0, low_open=True)
        self.learning_rate = check_float("learning_rate", learning_rate, 0.0, low_open=True)
        self.retrain_every = check_int("retrain_every", retrain_every, minimum=1)
        self.n_train_steps = check_int("n_train_steps", n_train_steps, minimum=0)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.buffer_size = check_int("buffer_size", buffer_size, minimum=1)
        self.device = device
        self._device = torch_device(device)
        self._gen = torch.Generator(device=self._device)
        self._gen.manual_seed(int(self._rng.integers(2**62)))
        self._init_seed = int(self._rng.integers(2**62))  # initial weights do not depend on when we build
        self._built = False

    def reseed(self, random_state) -> None:
        """Restart both the numpy and the torch random streams."""
        super().reseed(random_state)
        self._gen.manual_seed(int(self._rng.integers(2**62)))

    # ------------------------------------------------------------------ state
    @property
    def _weights(self) -> Weights:
        """The nets' weights as they are now (a retrain replaces these tensors, never edits them)."""
        return Weights(self.w_user, self.w_item, self.b1, self.w2, self.b2)

    def _build(self, d_user: int, d_item: int) -> None:
        import torch
        r, h, dev = self.n_replicas, self.hidden_size, self._device
        f = h + 1
        gen = torch.Generator(device=dev)
        gen.manual_seed(self._init_seed)

        def init(*shape, fan_in):
            return (torch.randn(*shape, generator=gen, device=dev) / np.sqrt(fan_in)).requires_grad_()

        self._dims = (d_user, d_item)
        self.w_user = init(r, max(d_user, 1), h, fan_in=d_user + d_item)
        self.w_item = init(r, d_item, h, fan_in=d_user + d_item)
        self.b1 = torch.zeros(r, h, device=dev, requires_grad=True)
        self.w2 = init(r, h, h, fan_in=h)
        self.b2 = torch.zeros(r, h, device=dev, requires_grad=True)
        self.head = torch.zeros(r, f, device=dev, requires_grad=True)
        eye = torch.eye(f, device=dev)
        self._precision = (self.ridge * eye).repeat(r, 1, 1)
        self._b = torch.zeros(r, f, device=dev)
        self._mean = torch.zeros(r, f, device=dev)
        self._factor = (eye / np.sqrt(self.ridge)).repeat(r, 1, 1)
        cap = self.buffer_size
        self._buf_x = torch.zeros(r, cap, max(d_user, 1), device=dev)
        self._buf_arm = torch.zeros(r, cap, dtype=torch.long, device=dev)
        self._buf_y = torch.zeros(r, cap, device=dev)
        self._buf_count = np.zeros(r, dtype=np.int64)  # counters on the host: no device round trip a call
        self._since_train = np.zeros(r, dtype=np.int64)
        self._built = True

    def _inputs(self, rows):
        """(x (B, d_user), items (K, d_item) or None for one-hot item ids, replica (B,) numpy) as tensors."""
        x = rows.features
        d_user = 0 if x is None else x.shape[1]
        d_item = self.n_arms if rows.arm_features is None else rows.arm_features.shape[1]
        if not self._built:
            self._build(d_user, d_item)
        elif (d_user, d_item) != self._dims:
            raise ValueError(f"input dimensions changed from {self._dims} to {(d_user, d_item)}")
        x = np.zeros((rows.n_rows, 1), dtype=np.float32) if x is None else x
        items = None
        if rows.arm_features is not None:
            cache = self.__dict__.get("_item_tensor") or self.__dict__.setdefault("_item_tensor", ItemTensor())
            items = cache.get(rows.arm_features, self._device)
        return float_tensor(x, self._device), items, rows.replica

    def _features(self, x, items, rep):
        """Features f (B, K, H+1) of every (row, item) pair; rows use their replica's net."""
        import torch
        with torch.no_grad():
            return all_item_features(self._weights, x, items, RowLayout(_host(rep)))

    def _pair_features(self, x, items_of_rows, rep):
        """Features (n, H+1) of one item per row: ``items_of_rows`` (n, d_item) rows or (n,) one-hot ids."""
        return pair_features(self._weights, x, items_of_rows, RowLayout(_host(rep)))

    def _frozen(self, rows) -> FrozenScores:
        x, items, rep = self._inputs(rows)
        return FrozenScores(self._weights, x, items, RowLayout(rep), self._mean, self._factor, self.noise_std,
                            self.n_arms)

    # ------------------------------------------------------------------ protocol hooks
    def _sampler(self, rows):
        """``draw(n) -> (n, B, K)`` score draws from the agent's torch stream (tests, references)."""
        with one_blas_thread():
            return self._frozen(rows).numpy_draw(self._gen)

    def _decide(self, rows):
        """One posterior draw per row decides now; the propensities' draws are made when first read
        (``banditsim.agents._neural.draws``)."""
        import torch
        with one_blas_thread(), torch.no_grad():  # small tensors: torch's worker threads cost more than they give
            frozen = self._frozen(rows)
            feats = frozen.features()
            scores = frozen.scores(feats, frozen.normals(1, frozen.n_rows, self._gen))[:, 0].double().cpu().numpy()
            self.__dict__.setdefault("_last_act", LastAct()).hand_over(frozen, feats)
        items = top_k(scores, rows.mask, self.slate_size, self._rng)
        seed = int(self._propensity_rng().integers(2**62))
        propensities, probabilities = lazy_propensities(frozen, items, rows.mask, self.n_propensity_draws, seed)
        return items, propensities, probabilities

    def _learn(self, rows, arms, reward, kind):
        with one_blas_thread():
            self._learn_now(rows, arms, reward)

    def _learn_now(self, rows, arms, reward):
        import torch
        x, items, rep = self._inputs(rows)
        layout = RowLayout(rep)
        arm_t = long_tensor(arms, self._device)
        y = float_tensor(reward, self._device)
        z = arm_t if items is None else items[arm_t]
        with torch.no_grad():
            if layout.single:  # one replica: in-place rank-n updates of its precision and Σ f·y
                r = int(layout.replicas[0])
                f = single_pair_features(self._weights.of(r), x, z)
                self._precision[r].addmm_(f.T, f)
                self._b[r].addmv_(f.T, y)
            else:
                reps = layout.reps_on(self._device)
                f = grouped_pair_features(self._weights, layout.pack(x), layout.pack(z), reps)  # (G, W, H+1)
                if layout.padded:  # rows that only fill a short group add nothing
                    f = f * layout.pack(torch.ones_like(y))[..., None]
                ft = f.transpose(1, 2)
                self._precision.index_add_(0, reps, torch.bmm(ft, f))
                self._b.index_add_(0, reps, torch.bmm(ft, layout.pack(y)[..., None])[..., 0])
            slot = long_tensor((self._buf_count[rep] + layout.occurrence) % self.buffer_size, self._device)
            rep_t = long_tensor(rep, self._device)
            self._buf_x[rep_t, slot] = x
            self._buf_arm[rep_t, slot] = arm_t
            self._buf_y[rep_t, slot] = y
        seen = np.bincount(rep, minlength=self.n_replicas)
        self._buf_count += seen
        self._since_train += seen
        due = np.flatnonzero(self._since_train >= self.retrain_every)
        if due.size:
            self._train(due, items)
            self._since_train[due] = 0
        self._refactor(layout.replicas)

    # ------------------------------------------------------------------ training
    def _train(self, due: np.ndarray, items) -> None:
        """``n_train_steps`` Adam steps on minibatches of the ``due`` replicas' buffers (one batched
        product per layer for all of them), then their last-layer posteriors rebuilt."""
        import torch
        for name in _WEIGHT_NAMES:  # copy on write: unread decisions keep the weights they acted with
            setattr(self, name, getattr(self, name).detach().clone().requires_grad_())
        params = [*self._weights, self.head]
        opt = torch.optim.Adam(params, lr=self.learning_rate)  # fresh state: untouched replicas stay put
        size = long_tensor(np.minimum(self._buf_count[due], self.buffer_size), self._device)
        due_t = long_tensor(due, self._device)
        rows = due_t[:, None]
        for _ in range(self.n_train_steps):
            u = torch.rand(due.size, self.batch_size, generator=self._gen, device=self._device)
            slot = (u * size[:, None]).long()
            arm = self._buf_arm[rows, slot]
            f = grouped_pair_features(self._weights, self._buf_x[rows, slot], arm if items is None else items[arm],
                                      due_t)
            loss = ((f * self.head[due_t][:, None, :]).sum(-1) - self._buf_y[rows, slot]).pow(2).sum() / slot.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
        for p in params:
            p.grad = None
        self._rebuild(due, items)

    def _rebuild(self, due: np.ndarray, items) -> None:
        """Last-layer precision ridge·I + Σ ffᵀ and Σ f·y of the ``due`` replicas from their buffers
        under the new net, in chunks of replicas of at most ``_REBUILD_CELLS`` input values."""
        import torch
        sizes = np.minimum(self._buf_count[due], self.buffer_size)
        width = sum(self._dims) + 2 * self.hidden_size
        step = max(1, _REBUILD_CELLS // max(1, int(sizes.max()) * width))
        eye = torch.eye(self.hidden_size + 1, device=self._device)
        with torch.no_grad():
            for lo in range(0, due.size, step):
                reps, n = long_tensor(due[lo:lo + step], self._device), sizes[lo:lo + step]
                slots = torch.arange(max(int(n.max()), 1), device=self._device)
                valid = (slots[None, :] < long_tensor(n, self._device)[:, None]).float()
                rows, cols = reps[:, None], slots[None, :]
                arm = self._buf_arm[rows, cols]
                f = grouped_pair_features(self._weights, self._buf_x[rows, cols], arm if items is None else items[arm],
                                          reps) * valid[..., None]
                ft = f.transpose(1, 2)
                self._precision[reps] = self.ridge * eye + torch.bmm(ft, f)
                self._b[reps] = torch.bmm(ft, (self._buf_y[rows, cols] * valid)[..., None])[..., 0]

    def _refactor(self, touched: np.ndarray) -> None:
        """Mean μ = Σ b and factor F = C⁻ᵀ of Σ = P⁻¹ (P = C·Cᵀ, Cholesky, in float64) of the
        ``touched`` replicas: F·Fᵀ = Σ, one factorisation and one triangular solve each."""
        import torch
        r = int(touched[0])  # one replica (a single stream, a runner cell): a slice, no index tensor
        idx = slice(r, r + 1) if touched.size == 1 else long_tensor(touched, self._device)
        with torch.no_grad():
            chol, ok = cholesky(self._precision[idx].double())
            if not ok:
                raise np.linalg.LinAlgError("the last layer's precision is not positive definite")
            inv = torch.linalg.solve_triangular(chol, self._eye64(), upper=False)  # C⁻¹
            factor = inv.transpose(1, 2)
            self._mean[idx] = torch.matmul(factor, torch.matmul(inv, self._b[idx].double()[..., None]))[..., 0].float()
            self._factor[idx] = factor.float()

    def _eye64(self):
        """The (H+1) float64 identity on the device (made once)."""
        import torch
        eye = self.__dict__.get("_identity64")
        if eye is None:
            eye = self._identity64 = torch.eye(self.hidden_size + 1, dtype=torch.float64, device=self._device)
        return eye


def _host(rep) -> np.ndarray:
    """Replica ids as a numpy int64 array (a torch tensor is copied to the host)."""
    return rep.cpu().numpy() if hasattr(rep, "cpu") else np.asarray(rep, dtype=np.int64)
