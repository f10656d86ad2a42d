"""The final plots' cost: each figure drawn once per save, and the report's fixed margins hold its text."""

from __future__ import annotations

import io

import numpy as np
import pytest

from banditsim.sim.report.html_page import fig_png
from banditsim.sim.report.html_report import metric_figure
from banditsim.sim.report.plots import _matplotlib, save_figure
from banditsim.sim.report.metric_columns import Shown


def _figure():
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(50), np.sqrt(np.arange(50)), label="a")
    ax.set_title("a title")
    ax.set_ylabel("a label")
    ax.legend()
    fig.tight_layout()
    return fig


def _counted(fig) -> list[int]:
    """Count the figure's full draws (the real draw runs; only its calls are counted)."""
    calls, draw = [], fig.draw

    def counting(renderer):
        calls.append(1)
        return draw(renderer)

    fig.draw = counting
    return calls


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _old_way(dpi: int) -> bytes:
    """What saving did before: savefig right after tight_layout (the figure drawn twice)."""
    fig = _figure()
    calls = _counted(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _matplotlib().close(fig)
    assert len(calls) == 2  # this matplotlib still draws twice after tight_layout: the case being fixed
    return buf.getvalue()


def test_save_figure_draws_once_and_writes_the_same_pixels(tmp_path):
    fig = _figure()
    calls = _counted(fig)
    path = save_figure(fig, tmp_path / "f.png")
    assert len(calls) == 1
    assert np.array_equal(_pixels(path.read_bytes()), _pixels(_old_way(110)))


def test_report_png_draws_once_and_gives_the_same_pixels():
    fig = _figure()
    calls = _counted(fig)
    png = fig_png(fig, dpi=80)
    assert len(calls) == 1
    assert np.array_equal(_pixels(png), _pixels(_old_way(80)))


def _metrics(values: np.ndarray, agents=("thompson", "a_long_agent_label_x", "random")) -> dict:
    """A metrics table of one column ``m`` for ``agents`` × 3 seeds × len(values) steps."""
    n = values.size
    rows = [(a, s, t) for a in agents for s in range(3) for t in range(n)]
    rng = np.random.default_rng(0)
    return {"agent": np.array([r[0] for r in rows]), "seed": np.array([r[1] for r in rows]),
            "step": np.array([r[2] for r in rows]),
            "m": np.concatenate([values * (1 + 0.1 * rng.standard_normal(n)) for _ in rows[::n]])}


def _drawn_labels(axis) -> list:
    """The tick labels matplotlib draws: those of ticks inside the view limits."""
    low, high = sorted(axis.get_view_interval())
    span = 1e-9 * (high - low)
    return [t for loc, t in zip(axis.get_majorticklocs(), axis.get_ticklabels())
            if low - span <= loc <= high + span]


@pytest.mark.parametrize("values, reduce", [
    (np.linspace(0.0002, 0.003, 120), "mean"),     # six-character labels, the pad below zero: "−0.0005"
    (np.linspace(-0.9, -0.1, 40), "mean"),         # negative values
    (np.linspace(1000, 45000, 200), "mean"),      # five-digit labels
    (np.full(30, 0.5) + np.linspace(0, 3e-6, 30), "mean"),  # a narrow range: an offset above the axis
    (np.linspace(1e6, 9e7, 60), "mean"),           # a scale factor above the axis
    (np.full(80, 0.4), "sum"),                     # a running total from near zero
])
def test_report_metric_figure_keeps_every_text_inside_the_image(values, reduce):
    plt = _matplotlib()
    s = Shown("m", "a metric with a fairly long label", column="m", plot=True, reduce=reduce)
    fig = metric_figure(_metrics(values), s)
    try:
        fig.set_dpi(80)
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        ax = fig.axes[0]
        texts = [ax.title, ax.xaxis.label, ax.yaxis.get_offset_text(), *_drawn_labels(ax.yaxis), *_drawn_labels(ax.xaxis)]
        width, height = fig.bbox.width, fig.bbox.height
        for t in texts:
            if not t.get_visible() or not t.get_text():
                continue
            box = t.get_window_extent(renderer)
            assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (t.get_text(), box)
        labels = [t.get_window_extent(renderer) for t in _drawn_labels(ax.yaxis) if t.get_text()]
        assert labels and all(b.x1 <= ax.bbox.x0 for b in labels)  # tick labels left of the axes, not over it
        assert ax.title.get_window_extent(renderer).y0 >= ax.bbox.y1  # the title above the axes
    finally:
        plt.close(fig)


def _grid_metrics(values: np.ndarray) -> dict:
    """Every plotted registered metric's column filled with ``values`` (3 agents × 3 seeds)."""
    from banditsim.sim.metrics import METRICS

    base = _metrics(values)
    cols = {m.col for m in METRICS.values() if m.plot}
    return {**{k: base[k] for k in ("agent", "seed", "step")}, **{c: base["m"] for c in cols}}


@pytest.mark.parametrize("n_metrics", [1, 3, 12])
@pytest.mark.parametrize("values", [np.linspace(-0.003, -0.0002, 20), np.linspace(1000, 45000, 20)])
def test_metric_grid_keeps_tick_labels_titles_and_panels_apart(n_metrics, values, tmp_path, monkeypatch):
    """metrics.png's fixed margins: every text inside the image, each panel's tick labels and title clear
    of the neighbouring panels, at 1, 3 and 12 panels (1 to 4 columns)."""
    import banditsim.sim.metrics
    from banditsim.sim.report.plots import plot_metric_grid

    plotted = [n for n, m in banditsim.sim.metrics.METRICS.items() if m.plot][:n_metrics]
    monkeypatch.setattr(banditsim.sim.metrics, "METRICS", {n: banditsim.sim.metrics.METRICS[n] for n in plotted})
    plt = _matplotlib()
    captured = []
    monkeypatch.setattr("banditsim.sim.report.plots.save_figure", lambda fig, path: captured.append(fig))
    assert plot_metric_grid(_grid_metrics(values), tmp_path / "m.png") == plotted
    (fig,) = captured
    try:
        fig.set_dpi(110)
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(axes) == n_metrics
        others = lambda ax: [o.bbox for o in axes if o is not ax]  # noqa: E731
        drawn = {}  # axes → boxes of its texts
        for ax in axes:
            texts = [ax.title, ax.yaxis.get_offset_text(), *_drawn_labels(ax.yaxis), *_drawn_labels(ax.xaxis)]
            for t in texts:
                if not t.get_visible() or not t.get_text():
                    continue
                box = t.get_window_extent(renderer)
                assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
                assert not any(box.overlaps(o) for o in others(ax)), (t.get_text(), box)
                drawn.setdefault(ax, []).append(box)
        for i, a in enumerate(axes):  # no text of one panel runs into a text of another
            for b in axes[i + 1:]:
                assert not any(x.overlaps(y) for x in drawn.get(a, []) for y in drawn.get(b, []))
        sup = fig._supxlabel.get_window_extent(renderer)
        assert sup.y0 >= 0 and all(sup.y1 <= ax.bbox.y0 for ax in axes)
    finally:
        plt.close(fig)
