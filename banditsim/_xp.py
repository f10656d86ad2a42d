"""The few array operations numpy and torch spell differently, for code written once over both.

Code written for both backends takes its namespace from its arrays (``namespace(a)``, the array
API of ``array_api_compat``) and uses the array API.  What the API lacks is here, one function
each: a Cholesky factorisation that reports failure instead of raising (the one jitter-plus-Cholesky
of the agents), its solves and inverse, a lower-triangular solve, scatter-adds, and moves between
host (numpy) arrays and a torch device; so are row dot products and max(·, 0), which the API has
but whose numpy and torch kernels round differently.  Each keeps the exact calls its backend used
before (LAPACK through numpy/scipy, or torch's own kernels), so code moved onto these helpers
computes the same numbers, bit for bit.

A leaf of the package: it imports neither ``envs``, ``agents`` nor ``sim``, and torch only when a
torch tensor is passed in.

>>> import numpy as np
>>> factor, ok = cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
>>> factor.tolist(), ok
([[2.0, 0.0], [1.0, 2.0]], True)
>>> cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))[1]
False
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_torch_array

__all__ = ["add_at", "add_rows", "cholesky", "cholesky_inverse", "cholesky_solve", "eye_like", "from_host",
           "is_torch_array", "namespace", "namespace_on", "nonnegative", "row_dot", "solve_lower", "take_last", "to_host"]


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


def to_host(a) -> np.ndarray:
    """``a`` as a numpy array: a copy from the device for torch, ``a`` itself for numpy."""
    return a.cpu().numpy() if is_torch_array(a) else a
