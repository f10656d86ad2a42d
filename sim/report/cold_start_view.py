"""Cold start in a results directory: how fast each agent starts showing items released mid-run.

Reads a run made with ``cold_start: {new_item_fraction, release_step}``: the new items are the
arms numbered from ``manifest["catalog"]["n_initial"]`` on, and ``log.parquet`` records every
recommended arm per (agent, seed, step).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from banditsim.sim.stats.intervals import band


def new_item_share(out_dir: str | Path) -> dict:
    """Per agent, the share of recommendations that went to the new items at each step.

    Returns ``{"release_step": int, "n_initial": int, "n_items": int, "steps": (T,) array,
    "share": {agent: (n_seeds, T) array}}``. Steps beyond the interaction log's row cap
    (``log.max_rows_per_cell``) are NaN.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from banditsim.envs.errors import BanditsimError

    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    release = manifest["config"]["cold_start"]["release_step"]
    n_initial, n_items = manifest["catalog"]["n_initial"], manifest["catalog"]["n_items"]
    if release is None or n_initial >= n_items:
        raise BanditsimError(f"{out_dir} is not a cold-start run (cold_start.new_item_fraction is 0)")
    if not (out_dir / "log.parquet").is_file():
        raise BanditsimError(f"{out_dir} has no log.parquet (log.enabled was false)")
    table = pq.read_table(out_dir / "log.parquet", columns=["agent", "seed", "step", "action"])
    horizon = manifest["config"]["run"]["horizon"]
    agent = table.column("agent").to_numpy(zero_copy_only=False)
    seed = table.column("seed").to_numpy()
    step = table.column("step").to_numpy()
    is_new = pc.greater_equal(table.column("action"), n_initial).to_numpy(zero_copy_only=False)
    share = {}
    for name in dict.fromkeys(agent.tolist()):
        rows = agent == name
        seeds = np.unique(seed[rows])
        key = np.searchsorted(seeds, seed[rows]) * horizon + step[rows]
        shown = np.bincount(key, minlength=seeds.size * horizon).astype(float)
        new = np.bincount(key, weights=is_new[rows], minlength=seeds.size * horizon)
        with np.errstate(invalid="ignore", divide="ignore"):
            share[name] = np.where(shown > 0, new / shown, np.nan).reshape(seeds.size, horizon)
    return {"release_step": int(release), "n_initial": int(n_initial), "n_items": int(n_items),
            "steps": np.arange(horizon), "share": share}


def plot_cold_start(share: dict, metrics: dict[str, np.ndarray] | None = None, window: int = 1):
    """Left: share of recommendations going to the new items per step (mean over seeds, 95%
    band, clipped to [0, 1]), with the share they have of the catalog as a reference line. Right (when ``metrics``,
    the columns of ``metrics.parquet``, are given): positive-feedback rate per step, to see
    whether the new items cost or earn anything. Returns a matplotlib ``Figure``."""
    from matplotlib.figure import Figure

    release = share["release_step"]
    catalog_share = 1 - share["n_initial"] / share["n_items"]
    fig = Figure(figsize=(13 if metrics is not None else 7, 4.5))
    axes = fig.subplots(1, 2 if metrics is not None else 1, squeeze=False)[0]
    steps = share["steps"]
    def smooth(grid):
        """Trailing moving mean over the last ``window`` steps (fewer at the start; NaN-aware)."""
        if window <= 1:
            return grid
        ok = np.isfinite(grid)
        c = np.cumsum(np.where(ok, grid, 0.0), axis=1)
        n = np.cumsum(ok, axis=1).astype(float)
        c[:, window:] = c[:, window:] - c[:, :-window].copy()
        n[:, window:] = n[:, window:] - n[:, :-window].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, c / np.maximum(n, 1), np.nan)

    for i, (name, grid) in enumerate(share["share"].items()):
        m, lo, hi = (np.clip(v, 0, 1) for v in band(smooth(grid)))
        axes[0].plot(steps, m, color=f"C{i}", label=name)
        axes[0].fill_between(steps, lo, hi, color=f"C{i}", alpha=0.2)
    axes[0].axhline(catalog_share, color="grey", ls=":", lw=1,
                    label=f"new items' share of the catalog ({100 * catalog_share:.0f}%)")
    axes[0].set_ylabel("share of recommendations that are new items" + (f"\n(trailing mean, {window} steps)" if window > 1 else ""))
    axes[0].set_title("Cold start: uptake of the items released mid-run")
    if metrics is not None:
        agents = metrics["agent"]
        for i, name in enumerate(share["share"]):
            rows = agents == name
            seeds = np.unique(metrics["seed"][rows])
            grid = np.full((seeds.size, steps.size), np.nan)
            grid[np.searchsorted(seeds, metrics["seed"][rows]), metrics["step"][rows]] = \
                metrics["positive_rate"][rows]
            m, lo, hi = (np.clip(v, 0, 1) for v in band(smooth(grid)))
            axes[1].plot(steps, m, color=f"C{i}", label=name)
            axes[1].fill_between(steps, lo, hi, color=f"C{i}", alpha=0.2)
        axes[1].set_ylabel("positive feedback rate" + (f" (trailing mean, {window} steps)" if window > 1 else ""))
        axes[1].set_title("Positive feedback before and after the release")
    for ax in axes:
        ax.axvline(release, color="black", ls="--", lw=1, label=f"release (step {release})")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
