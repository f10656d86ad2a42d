"""banditsim._xp: each helper gives the same numbers on numpy and torch, and reports what it must."""

import warnings

import numpy as np
import pytest

from banditsim import _xp

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _spd(rng, n, d):
    a = rng.normal(size=(n, d, d))
    return a @ np.swapaxes(a, 1, 2) + d * np.eye(d)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_cholesky_factors_and_reports_failure(backend):
    rng = np.random.default_rng(0)
    spd = _spd(rng, 3, 4)
    as_backend = (lambda a: a) if backend == "numpy" else torch.from_numpy
    factor, ok = _xp.cholesky(as_backend(spd))
    assert ok
    factor = _xp.to_host(factor)
    np.testing.assert_allclose(factor @ np.swapaxes(factor, 1, 2), spd, rtol=1e-12)
    assert np.all(np.triu(factor, 1) == 0.0)
    indefinite = spd.copy()
    indefinite[1] = -np.eye(4)  # one bad matrix in the batch fails the whole call
    assert not _xp.cholesky(as_backend(indefinite))[1]
    singular = np.ones((1, 3, 3))  # positive semi-definite, rank 1: only the jitter lets it factor
    assert not _xp.cholesky(as_backend(singular))[1]
    assert _xp.cholesky(as_backend(singular), relative_jitter=1e-12)[1]
    assert _xp.cholesky(as_backend(singular), relative_jitter=1e-12, scale=3.0)[1]


def test_solves_and_inverse_agree_across_backends():
    rng = np.random.default_rng(1)
    spd = _spd(rng, 2, 5)
    rhs = rng.normal(size=(2, 5))
    factor_np = _xp.cholesky(spd)[0]
    factor_t = _xp.cholesky(torch.from_numpy(spd))[0]
    for factor in (factor_np, factor_t):
        np.testing.assert_allclose(_xp.to_host(_xp.cholesky_solve(factor, _xp.from_host(rhs, factor))),
                                   np.linalg.solve(spd, rhs[:, :, None])[:, :, 0], rtol=1e-10)
        inverse = _xp.to_host(_xp.cholesky_inverse(factor))
        np.testing.assert_allclose(inverse, np.linalg.inv(spd), rtol=1e-10)
        assert np.array_equal(inverse, np.swapaxes(inverse, 1, 2))  # exactly symmetric
        lower = _xp.to_host(factor)[0]
        y = _xp.to_host(_xp.solve_lower(factor[0], _xp.from_host(rhs.T, factor)))
        np.testing.assert_allclose(lower @ y, rhs.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_scatter_adds_sum_repeated_rows(backend):
    values = np.arange(12.0).reshape(4, 3)
    group = np.array([2, 0, 2, 2])
    like = values if backend == "numpy" else torch.from_numpy(values)
    expected = np.zeros((3, 3))
    np.add.at(expected, group, values)
    assert np.array_equal(_xp.to_host(_xp.add_rows(_xp.from_host(values, like), group, 3)), expected)
    target = _xp.from_host(np.zeros((3, 3)), like)
    _xp.add_at(target, _xp.from_host(group, like, "int64"), _xp.from_host(values, like))
    assert np.array_equal(_xp.to_host(target), expected)


def test_row_dot_and_nonnegative_match_their_definitions():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(6, 9)), rng.normal(size=(6, 9))
    for x, y in ((a, b), (torch.from_numpy(a), torch.from_numpy(b))):
        np.testing.assert_allclose(_xp.to_host(_xp.row_dot(x, y)), (a * b).sum(axis=1), rtol=1e-12)
        assert np.array_equal(_xp.to_host(_xp.nonnegative(x)), np.where(a > 0, a, 0.0))


def test_host_moves():
    host = np.arange(3.0)
    assert _xp.from_host(host, host) is host  # numpy: no copy, no cast
    assert _xp.to_host(host) is host
    read_only = np.arange(3)
    read_only.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it would share memory it may not write
        moved = _xp.from_host(read_only, torch.zeros(1), "int64")
    assert moved.dtype == torch.int64 and moved.tolist() == [0, 1, 2]
    assert _xp.namespace(moved) is _xp.namespace_on("cpu")[0]


def test_take_last_gathers_the_last_axis_by_an_index_of_any_shape():
    a = np.arange(24.0).reshape(2, 3, 4)
    index = np.array([[3, 0], [1, 1]])
    expected = a[..., index]  # (2, 3, 2, 2)
    assert np.array_equal(_xp.take_last(a, index), expected)
    assert np.array_equal(_xp.take_last(torch.from_numpy(a), torch.from_numpy(index)).numpy(), expected)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_gathers_by_flat_index_and_by_rows(backend):
    a = np.arange(12.0).reshape(3, 4)
    flat, rows = np.array([[0, 5], [11, 6]]), np.array([2, 0, 2])
    on = (lambda v: v) if backend == "numpy" else torch.from_numpy
    assert np.array_equal(_xp.to_host(_xp.take_flat(on(a), on(flat))), a.reshape(-1)[flat])
    assert np.array_equal(_xp.to_host(_xp.take_flat(on(a), on(flat), in_range=True)), a.reshape(-1)[flat])
    assert np.array_equal(_xp.to_host(_xp.take_rows(on(a), on(rows))), a[rows])
    with pytest.raises((IndexError, RuntimeError)):
        _xp.take_flat(on(a), on(np.array([12])))  # out of range: raises unless promised in range


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_top_k_indices_and_sigmoid(backend):
    x = np.array([[0.5, 3.0, -1.0, 2.0], [9.0, 8.0, 7.0, 6.0]], dtype=np.float32)
    on = (lambda v: v) if backend == "numpy" else torch.from_numpy
    top = np.sort(_xp.to_host(_xp.top_k_indices(on(x), 2)), axis=1)
    assert top.tolist() == [[1, 3], [0, 1]]
    assert _xp.top_k_indices(on(x), 9).shape == (2, 4)  # k capped at the row length
    np.testing.assert_allclose(_xp.to_host(_xp.sigmoid(on(x))), 1.0 / (1.0 + np.exp(-x)), rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_pair_dots_give_each_pair_the_value_vec_dot_gives_it_alone(backend, monkeypatch):
    rng = np.random.default_rng(3)
    a, x = rng.normal(size=(7, 33)).astype(np.float32), rng.normal(size=(5, 33)).astype(np.float32)
    on = (lambda v: v) if backend == "numpy" else torch.from_numpy
    monkeypatch.setattr(_xp, "_PAIR_BLOCK", 2 * 5 * 33)  # torch: blocks of two rows
    got = _xp.to_host(_xp.pair_dots(on(a), on(x)))
    alone = np.array([[_xp.to_host(_xp.vec_dot(on(a[i:i + 1]), on(x[j:j + 1])))[0] for j in range(5)]
                      for i in range(7)])
    assert np.array_equal(got, alone)
    np.testing.assert_allclose(got, a @ x.T, rtol=1e-4, atol=1e-5)
    assert _xp.pair_dots(on(a[:0]), on(x)).shape == (0, 5)


def test_asarray_on_converts_once_and_keeps_host_arrays():
    host = np.arange(4, dtype=np.int64)
    assert _xp.asarray_on(host, "int64", None) is host
    assert _xp.asarray_on(host, "float32", None).dtype == np.float32
    reversed_view = np.arange(4.0)[::-1]  # negative strides: torch.asarray refuses them
    moved = _xp.asarray_on(reversed_view, "float32", "cpu")
    assert moved.dtype == torch.float32 and moved.tolist() == [3.0, 2.0, 1.0, 0.0]
    assert _xp.asarray_on(moved, "float64", "cpu").dtype == torch.float64


@pytest.mark.parametrize("where", [None, "cpu"])
def test_zeros_and_arange_are_made_where_asked(where):
    zeros, steps = _xp.zeros_on((2, 3), "float32", where), _xp.arange_on(4, where)
    assert isinstance(zeros, np.ndarray) == (where is None) == isinstance(steps, np.ndarray)
    assert _xp.to_host(zeros).dtype == np.float32 and not _xp.to_host(zeros).any()
    assert _xp.to_host(steps).dtype == np.int64 and _xp.to_host(steps).tolist() == [0, 1, 2, 3]
