"""Neural-linear Thompson sampling (Riquelme et al. 2018) in torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from agents._blas_threads import one_blas_thread
from agents._validation import check_choice, check_float, check_int
from agents.base import SamplingAgent

if TYPE_CHECKING:  # torch is imported where it is used: `import agents` stays light
    import torch


def resolve_device(device: str) -> torch.device:
    """'cpu', 'cuda' or 'auto' (cuda when available) → torch.device."""
    import torch
    check_choice("device", device, ("cpu", "cuda", "auto"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but CUDA is not available")
    return torch.device(device)


def _occurrence(group: torch.Tensor) -> torch.Tensor:
    """For each element, how many earlier elements share its group id (vectorised)."""
    import torch
    order = torch.argsort(group, stable=True)
    sorted_group = group[order]
    new = torch.ones_like(sorted_group, dtype=torch.bool)
    new[1:] = sorted_group[1:] != sorted_group[:-1]
    start = torch.cummax(torch.where(new, torch.arange(group.numel(), device=group.device), 0), 0).values
    occ = torch.empty_like(group)
    occ[order] = torch.arange(group.numel(), device=group.device) - start
    return occ


class NeuralLinearTSAgent(SamplingAgent):
    """An MLP learns features of (user, item); a Bayesian linear last layer does the sampling.

    Input of a (row, item) pair: [user features, item embedding] (a one-hot item id when no
    ``arm_features`` are given).  Two ReLU layers of ``hidden_size`` give features f; the
    last layer has posterior N(μ, noise_std²·Σ), Σ = (ridge·I + Σ ffᵀ)⁻¹, updated after every
    response and rebuilt from the replay buffer whenever the net is retrained (every
    ``retrain_every`` responses of a replica, ``n_train_steps`` Adam steps of squared error).
    Each replica has its own weights, buffer and posterior.  ``device``: 'cpu', 'cuda', 'auto'.

    Examples
    --------
    >>> from agents import Context, Feedback
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
        self._device = resolve_device(device)
        self._gen = torch.Generator(device=self._device)
        self._gen.manual_seed(int(self._rng.integers(2**62)))
        self._init_seed = int(self._rng.integers(2**62))  # initial weights do not depend on when we build
        self._built = False

    def reseed(self, random_state) -> None:
        """Restart both the numpy and the torch random streams."""
        super().reseed(random_state)
        self._gen.manual_seed(int(self._rng.integers(2**62)))

    # ------------------------------------------------------------------ state
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
        self._buf_count = torch.zeros(r, dtype=torch.long, device=dev)
        self._since_train = torch.zeros(r, dtype=torch.long, device=dev)
        self._built = True

    def _inputs(self, rows):
        import torch
        x = rows.features
        d_user = 0 if x is None else x.shape[1]
        if rows.arm_features is None:
            items = np.eye(self.n_arms)
        else:
            items = rows.arm_features
        if not self._built:
            self._build(d_user, items.shape[1])
        elif (d_user, items.shape[1]) != self._dims:
            raise ValueError(f"input dimensions changed from {self._dims} to {(d_user, items.shape[1])}")
        x = np.zeros((rows.n_rows, 1)) if x is None else x
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=self._device)
        return t(x), t(items), torch.as_tensor(rows.replica, device=self._device)

    def _features(self, x, items, rep):
        """Features f (B, K, H+1) of every (row, item) pair; rows use their replica's net."""
        import torch
        pre = torch.einsum("bu,buh->bh", x, self.w_user[rep])[:, None, :]
        pre = pre + torch.einsum("ki,bih->bkh", items, self.w_item[rep]) + self.b1[rep][:, None, :]
        h = torch.relu(torch.einsum("bkh,bhg->bkg", torch.relu(pre), self.w2[rep]) + self.b2[rep][:, None, :])
        return torch.cat([h, torch.ones_like(h[..., :1])], dim=-1)

    def _pair_features(self, x, items_of_rows, rep):
        """Features (n, H+1) of one item per row; ``items_of_rows`` is (n, d_item)."""
        import torch
        pre = torch.einsum("bu,buh->bh", x, self.w_user[rep]) + torch.einsum("bi,bih->bh", items_of_rows, self.w_item[rep])
        h = torch.relu(torch.einsum("bh,bhg->bg", torch.relu(pre + self.b1[rep]), self.w2[rep]) + self.b2[rep])
        return torch.cat([h, torch.ones_like(h[:, :1])], dim=-1)

    # ------------------------------------------------------------------ protocol hooks
    def _sampler(self, rows):
        import torch
        x, items, rep = self._inputs(rows)
        with torch.no_grad():
            feats = self._features(x, items, rep)
        mean, factor = self._mean[rep], self._factor[rep]

        def draw(n):
            z = torch.randn(n, *mean.shape, generator=self._gen, device=self._device)
            theta = mean + self.noise_std * torch.einsum("bfg,nbg->nbf", factor, z)
            return torch.einsum("bkf,nbf->nbk", feats, theta).double().cpu().numpy()

        return draw

    def _decide(self, rows):
        with one_blas_thread():  # small tensors: torch's worker threads cost more than they give
            return super()._decide(rows)

    def _learn(self, rows, arms, reward, kind):
        with one_blas_thread():
            self._learn_now(rows, arms, reward)

    def _learn_now(self, rows, arms, reward):
        import torch
        x, items, rep = self._inputs(rows)
        arm_t = torch.as_tensor(arms, device=self._device)
        y = torch.as_tensor(reward, dtype=torch.float32, device=self._device)
        with torch.no_grad():
            f = self._pair_features(x, items[arm_t], rep)
            self._precision.index_add_(0, rep, f[:, :, None] * f[:, None, :])
            self._b.index_add_(0, rep, f * y[:, None])
            slot = (self._buf_count[rep] + _occurrence(rep)) % self.buffer_size
            self._buf_x[rep, slot] = x
            self._buf_arm[rep, slot] = arm_t
            self._buf_y[rep, slot] = y
            self._buf_count += torch.bincount(rep, minlength=self.n_replicas)
            self._since_train += torch.bincount(rep, minlength=self.n_replicas)
        due = torch.nonzero(self._since_train >= self.retrain_every).flatten()
        if due.numel():
            self._train(due, items)
            self._since_train[due] = 0
        self._refactor(torch.unique(rep))

    # ------------------------------------------------------------------ training
    def _train(self, due, items) -> None:
        import torch
        params = [self.w_user, self.w_item, self.b1, self.w2, self.b2, self.head]
        opt = torch.optim.Adam(params, lr=self.learning_rate)  # fresh state: untouched replicas stay put
        size = torch.clamp(self._buf_count[due], max=self.buffer_size)
        rep = due.repeat_interleave(self.batch_size)
        for _ in range(self.n_train_steps):
            u = torch.rand(due.numel(), self.batch_size, generator=self._gen, device=self._device)
            slot = (u * size[:, None]).long().flatten()
            f = self._pair_features(self._buf_x[rep, slot], items[self._buf_arm[rep, slot]], rep)
            loss = ((f * self.head[rep]).sum(-1) - self._buf_y[rep, slot]).pow(2).sum() / rep.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():  # rebuild the last-layer posterior of retrained replicas from their buffers
            cap = self.buffer_size
            valid = torch.arange(cap, device=self._device)[None, :] < size[:, None]
            rep_all = due[:, None].expand(-1, cap)[valid]
            slot_all = torch.arange(cap, device=self._device)[None, :].expand(due.numel(), -1)[valid]
            f = self._pair_features(self._buf_x[rep_all, slot_all], items[self._buf_arm[rep_all, slot_all]], rep_all)
            eye = torch.eye(f.shape[1], device=self._device)
            self._precision[due] = self.ridge * eye
            self._b[due] = 0.0
            self._precision.index_add_(0, rep_all, f[:, :, None] * f[:, None, :])
            self._b.index_add_(0, rep_all, f * self._buf_y[rep_all, slot_all][:, None])

    def _refactor(self, touched) -> None:
        import torch
        with torch.no_grad():
            prec = self._precision[touched].double()
            chol = torch.linalg.cholesky(prec)
            cov = torch.cholesky_inverse(chol)
            cov = 0.5 * (cov + cov.transpose(1, 2))
            self._mean[touched] = torch.einsum("bfg,bg->bf", cov, self._b[touched].double()).float()
            self._factor[touched] = torch.linalg.cholesky(cov).float()
