"""The few array operations numpy and torch spell differently, for code written once over both.

Code written for both backends takes its namespace from its arrays (``namespace(a)``, the array
API of ``array_api_compat``) and uses the array API.  What the API lacks is here, one function
each: a Cholesky factorisation that reports failure instead of raising (the one jitter-plus-Cholesky
of the agents), its solves and inverse, a lower-triangular solve, scatter-adds, and moves between
host (numpy) arrays and a torch device; so are row dot products and max(·, 0), which the API has
but whose numpy and torch kernels round differently.  The world's (``banditsim.envs.backend.Backend``) are
here too: the logistic function, unordered top-k, gathers by flat index and by rows, the per-pair
dot products its exact values are built from, and arrays made on a device from host values and dtype
names (numpy's and torch's own calls, which a world step makes dozens of times).  Each makes the
calls its backend's own code would (LAPACK through numpy/scipy, or torch's own kernels), so code
written on these helpers computes the same numbers as the direct calls, bit for bit.

A leaf of the package: it imports neither ``envs``, ``agents`` nor ``sim``, and torch only when a
torch tensor or a torch device is asked for.

>>> import numpy as np
>>> factor, ok = cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
>>> factor.tolist(), ok
([[2.0, 0.0], [1.0, 2.0]], True)
>>> cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))[1]
False
"""

from __future__ import annotations

import functools

import numpy as np
from array_api_compat import array_namespace, is_torch_array

__all__ = ["add_at", "add_rows", "add_to_rows", "arange_on", "asarray_on", "cholesky", "cholesky_inverse", "cholesky_solve",
           "eye_like", "from_host", "is_torch_array", "namespace", "namespace_on", "nonnegative",
           "pair_dots", "row_dot", "sigmoid", "solve_lower", "take_flat", "take_last", "take_rows",
           "to_host", "top_k_indices", "vec_dot", "zeros_on"]

_PAIR_BLOCK = 1 << 24  # products formed at a time by pair_dots on torch


def namespace(*arrays):
    """The array-API namespace of ``arrays`` (``array_api_compat.numpy`` or ``.torch``)."""
    return array_namespace(*arrays)


def namespace_on(where: str | None):
    """``(namespace, device)`` to create arrays with: numpy's for None, torch's on device ``where``."""
    if where is None:
        import array_api_compat.numpy as xp

        return xp, "cpu"
    import array_api_compat.torch as xp
    import torch

    return xp, torch.device(where)


def eye_like(a):
    """The (n, n) identity in the dtype and on the device of the (…, n, n) array ``a``."""
    if is_torch_array(a):
        import torch

        return torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return np.eye(a.shape[-1], dtype=a.dtype)


def cholesky(a, relative_jitter: float = 0.0, scale=None):
    """``(factor, ok)``: lower Cholesky factors of the (…, n, n) matrices a + jitter·I, and whether
    every one of them exists (``factor`` is not to be used where ``ok`` is False).

    jitter = ``relative_jitter``·``scale``, the scale each matrix's trace unless a number is given:
    a tiny relative jitter lets an exactly singular (positive semi-definite) matrix factor.
    """
    if relative_jitter:
        jitter = relative_jitter * (namespace(a).linalg.trace(a) if scale is None else scale)
        if getattr(jitter, "ndim", 0):
            jitter = jitter[..., None, None]
        a = a + jitter * eye_like(a)
    if is_torch_array(a):
        import torch

        factor, info = torch.linalg.cholesky_ex(a)
        return factor, not bool((info != 0).any())
    try:
        return np.linalg.cholesky(a), True
    except np.linalg.LinAlgError:
        return None, False


def cholesky_solve(factor, rhs):
    """A⁻¹·rhs for A = L·Lᵀ, L the (m, n, n) lower ``factor`` and rhs (m, n) (LAPACK potrs per matrix)."""
    if is_torch_array(factor):
        import torch

        return torch.cholesky_solve(rhs[:, :, None], factor)[:, :, 0]
    from scipy.linalg import lapack

    out = np.empty_like(rhs)
    for n in range(factor.shape[0]):
        out[n], info = lapack.dpotrs(factor[n], rhs[n], lower=1)
        if info:
            raise np.linalg.LinAlgError(f"potrs failed ({info})")
    return out


def cholesky_inverse(factor):
    """A⁻¹ (…, n, n), exactly symmetric, for A = L·Lᵀ with L the (…, n, n) lower ``factor`` (LAPACK potri)."""
    if is_torch_array(factor):
        import torch

        return torch.cholesky_inverse(factor)
    from scipy.linalg import lapack

    flat = factor.reshape(-1, *factor.shape[-2:])
    out = np.empty_like(flat)
    upper = np.triu_indices(factor.shape[-1], 1)
    for n in range(flat.shape[0]):
        inv, info = lapack.dpotri(flat[n], lower=1)
        if info:
            raise np.linalg.LinAlgError(f"potri failed ({info})")
        inv[upper] = inv.T[upper]  # potri writes the lower triangle: mirror it
        out[n] = inv
    return out.reshape(factor.shape)


def solve_lower(factor, rhs):
    """L⁻¹·rhs for the (n, n) lower-triangular ``factor`` and rhs (n, k) (LAPACK trtrs)."""
    if is_torch_array(factor):
        import torch

        return torch.linalg.solve_triangular(factor, rhs, upper=False)
    from scipy.linalg import lapack

    out, info = lapack.dtrtrs(factor, rhs, lower=1)
    if info:
        raise np.linalg.LinAlgError(f"trtrs failed ({info})")
    return out


def add_rows(values, group: np.ndarray, n_groups: int):
    """(n_groups, k) sums of the (n, k) ``values`` rows by ``group`` (host ids): a sparse product
    (numpy) or ``index_add_`` (torch); no Python loop."""
    if is_torch_array(values):
        import torch

        out = torch.zeros((n_groups, values.shape[1]), dtype=values.dtype, device=values.device)
        return out.index_add_(0, from_host(group, values, "int64"), values)
    from scipy.sparse import csr_matrix

    n = group.size
    onehot = csr_matrix((np.ones(n), (group, np.arange(n))), shape=(n_groups, n))
    return np.asarray(onehot @ values)


def add_at(target, index, values) -> None:
    """target[index[i]] += values[i] for every i, repeated indices adding up, in place
    (``np.add.at`` / ``index_add_`` along the first axis)."""
    if is_torch_array(target):
        target.index_add_(0, index, values)
    else:
        np.add.at(target, index, values)


@functools.cache
def _csr_kernel():
    """scipy's fused sparse × dense accumulate (Y += A·X), imported on first use (None if its private
    module moved: :func:`add_to_rows` then falls back to numpy)."""
    try:
        from scipy.sparse._sparsetools import csr_matvecs
    except ImportError:  # pragma: no cover
        return None
    return csr_matvecs


def add_to_rows(v, rows, x, items, coef, u=None, u_coef=None) -> None:
    """v[rows] += coef[:, None]·x[items] (+ u_coef[:, None]·u), in place, for unique ``rows``: on numpy
    one fused sparse × dense accumulate (the kernel behind scipy's CSR products: no (len(rows), d)
    temporary), on torch ``index_add_``."""
    if is_torch_array(v):
        add = x.index_select(0, items) * coef[:, None]
        if u is not None:
            add = add + u_coef[:, None] * u[None, :]
        v.index_add_(0, rows, add)
        return
    b, d = v.shape
    _csr_matvecs = _csr_kernel()
    if _csr_matvecs is not None and v.flags.c_contiguous and x.flags.c_contiguous:
        indptr = np.zeros(b + 1, dtype=np.int64)
        indptr[rows + 1] = 1
        np.cumsum(indptr, out=indptr)
        _csr_matvecs(b, x.shape[0], d, indptr, np.asarray(items, dtype=np.int64),
                     coef.astype(np.float32), x.reshape(-1), v.reshape(-1))
        if u is not None:  # + u_coef·u: the same product with a one-row matrix
            _csr_matvecs(b, 1, d, indptr, np.zeros(len(rows), dtype=np.int64),
                         u_coef.astype(np.float32), np.ascontiguousarray(u, dtype=np.float32), v.reshape(-1))
        return
    add = coef[:, None] * x.take(items, axis=0)
    if u is not None:
        add += u_coef[:, None] * u[None, :]
    v[rows] += add


def take_last(a, index):
    """a[..., index] for an integer array ``index`` of any shape (``np.take``: much faster than
    numpy's fancy indexing for large index arrays)."""
    if is_torch_array(a):
        return a[..., index]
    return np.take(a, index, axis=-1)


def row_dot(a, b):
    """(n,) dot products of the rows of two (n, d) arrays (``einsum`` in numpy, a product's row sums
    in torch: their own kernels, which round differently from each other's)."""
    if is_torch_array(a):
        return (a * b).sum(dim=1)
    return np.einsum("pd,pd->p", a, b)


def vec_dot(a, b):
    """Dot products over the last axis of two arrays that broadcast (``np.vecdot``; in torch the
    product's sum over the last axis). Each pair goes through the same kernel whatever else shares
    the call, so a pair's value does not depend on its neighbours; not :func:`row_dot`'s kernel
    (``einsum``), which rounds differently in numpy."""
    if is_torch_array(a):
        return (a * b).sum(-1)
    if hasattr(np, "vecdot"):
        return np.vecdot(a, b)
    return np.einsum("...j,...j->...", a, b)  # pragma: no cover - numpy < 2.0


def pair_dots(a, x):
    """(m, n) :func:`vec_dot` of every row of ``a`` (m, d) with every row of ``x`` (n, d), each pair by
    that kernel (not a matrix product, whose rounding depends on its blocking). numpy's ``vecdot``
    never forms the (m, n, d) products; torch's does, so it works in blocks of rows."""
    if not is_torch_array(a):
        return vec_dot(a[:, None, :], x[None, :, :])
    import torch

    n, d = x.shape
    step = max(1, _PAIR_BLOCK // max(1, n * d))
    parts = [vec_dot(a[lo:lo + step, None, :], x[None]) for lo in range(0, a.shape[0], step)]
    return torch.cat(parts) if parts else a.new_zeros((0, n))


def sigmoid(x):
    """1 / (1 + e⁻ˣ) elementwise (scipy's ``expit`` / ``torch.sigmoid``)."""
    if is_torch_array(x):
        return x.sigmoid()
    from scipy.special import expit

    return expit(x)


def top_k_indices(x, k: int):
    """Indices of the ``k`` largest entries of each row of the 2-d ``x``, in no order, shape (rows, k)
    (``k`` capped at the row length): ``np.argpartition`` / ``torch.topk``."""
    n = x.shape[1]
    k = min(k, n)
    if is_torch_array(x):
        return x.topk(k, dim=1, sorted=False).indices
    # a copy: a slice would keep the whole (rows, n) int64 partition alive
    return np.argpartition(x, n - k, axis=1)[:, n - k:].copy()


def take_flat(x, flat, in_range: bool = False):
    """``x.reshape(-1)[flat]`` for a C-contiguous ``x`` (``ndarray.take``: faster than fancy indexing).
    ``in_range``: the indices are known to be valid, so numpy skips its bounds check (which counts
    on large gathers; an out-of-range index would wrap instead of raising)."""
    if isinstance(x, np.ndarray):  # tested first: a step makes dozens of these calls
        return x.reshape(-1).take(flat, mode="wrap") if in_range else x.reshape(-1).take(flat)
    return x.reshape(-1)[flat]


def take_rows(x, index):
    """The rows ``x[index]`` (a copy; ``ndarray.take`` / ``index_select`` along the first axis)."""
    if isinstance(x, np.ndarray):  # tested first: a step makes dozens of these calls
        return x.take(index, axis=0)
    return x.index_select(0, index)


def nonnegative(a):
    """max(a, 0) elementwise, NaN kept (``np.maximum`` / ``clamp``: they differ on −0.0)."""
    if is_torch_array(a):
        return a.clamp(min=0.0)
    return np.maximum(a, 0.0)


def from_host(values, like, dtype: str = "float64"):
    """The host array ``values`` as an array of ``like``'s kind: for torch a tensor of ``dtype`` on
    ``like``'s device; for numpy ``values`` itself (no copy, no cast)."""
    if is_torch_array(like):
        import torch

        values = np.asarray(values)
        if not values.flags.writeable:  # torch would share memory it may not write
            values = values.copy()
        return torch.as_tensor(values, dtype=getattr(torch, dtype), device=like.device)
    return values


def asarray_on(values, dtype: str, where: str | None):
    """``values`` (host values or an array) as an array of dtype ``dtype`` (a name): numpy for
    ``where`` None, else a torch tensor on device ``where``; copied only when the dtype or the device
    changes. ``np.asarray`` and then ``torch.as_tensor``, not the array API's ``asarray``: torch's
    refuses the negative strides of a reversed view, and numpy's costs six times ``np.asarray``."""
    if where is None:
        return np.asarray(values, dtype=dtype)
    import torch

    if isinstance(values, torch.Tensor):
        return values.to(device=where, dtype=getattr(torch, dtype))
    return torch.as_tensor(np.asarray(values, dtype=dtype), device=where)


def zeros_on(shape, dtype: str, where: str | None):
    """Zeros of dtype ``dtype`` (a name), numpy's for ``where`` None, else torch's on device ``where``
    (``np.zeros`` / ``torch.zeros`` themselves: the world makes a few each step, and through
    array_api_compat's wrappers each costs numpy three times as much)."""
    if where is None:
        return np.zeros(shape, dtype=dtype)
    import torch

    return torch.zeros(shape, dtype=getattr(torch, dtype), device=where)


def arange_on(n: int, where: str | None):
    """0, 1, …, n − 1 (int64), numpy's for ``where`` None, else torch's on device ``where``
    (``np.arange`` / ``torch.arange``, for :func:`zeros_on`'s reason)."""
    if where is None:
        return np.arange(n)
    import torch

    return torch.arange(n, device=where)


def to_host(a) -> np.ndarray:
    """``a`` as a numpy array: a copy from the device for torch, ``a`` itself for numpy."""
    return a.cpu().numpy() if is_torch_array(a) else a
