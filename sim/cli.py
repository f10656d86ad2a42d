"""The ``banditsim`` command line.

Every command turns bad input into one line starting with ``error:`` and a
non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from banditsim.sim.errors_cli import run_guarded

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="banditsim: a bandit feedback simulator with LLM-embedding users.")
console = Console(stderr=False, width=None if sys.stdout.isatty() else 120)

CatalogOpt = typer.Option("movielens-100k", "--catalog", "-c",
                          help="Built-in catalog name or a CSV/JSONL/parquet file.")
TextColumnsOpt = typer.Option("title", "--text-columns",
                              help="Columns joined into each item's text: a,b or [a, b] (as in a config).")
IdColumnOpt = typer.Option("id", "--id-column", help="Column holding the item id.")
CategoryColumnOpt = typer.Option(None, "--category-column",
                                 help="Optional column of categories (genres), '|' separated.")
ModelOpt = typer.Option(None, "--embedding-model",
                        help="Local transformers model folder (default: packaged all-MiniLM-L6-v2).")
DeviceOpt = typer.Option("auto", "--device", help="auto, cpu or cuda.")
CacheOpt = typer.Option(None, "--cache-dir", help="Embedding cache folder (default ~/.cache/banditsim).")


def default_out(name: str) -> Path:
    """The results folder when ``--out`` is not given: ``runs/<name>-<date>-<time>``.

    ``name`` must be a plain folder name, so no config can write outside ``runs/``.
    """
    from banditsim.sim.config.run_config import check_result_name

    return Path("runs") / f"{check_result_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}"


def _columns(text: str) -> list[str]:
    """``a,b`` or ``[a, b]`` → ``["a", "b"]``: the config's list syntax works here too."""
    from banditsim.sim.config.world_source import split_columns

    cols = split_columns(text)
    if not cols:
        raise ValueError("--text-columns is empty: name at least one column")
    return cols


def _embed_and_report(catalog: str, text_columns: str, id_column: str, category_column: Optional[str],
                      embedding_model: Optional[str], device: str, cache_dir: Optional[Path],
                      backend: str = "auto") -> None:
    import numpy as np

    from banditsim.envs.catalog import load_catalog
    from banditsim.envs.embedding import embed_texts
    from banditsim.sim.report.neighbours import nearest_neighbours

    cat = load_catalog(catalog, _columns(text_columns), id_column, category_column)
    console.print(f"catalog [bold]{cat.name}[/]: {len(cat):,} items")
    res = embed_texts(cat.texts, embedding_model, device=device, cache_dir=cache_dir, backend=backend,
                      progress=sys.stderr.isatty())
    rate = f", {res.n_embedded / res.seconds:,.0f} texts/s" if res.n_embedded else ""
    console.print(
        f"embedded with [bold]{res.model_name}[/] ({res.vectors.shape[1]} dims): "
        f"{res.n_embedded:,} distinct texts run through the model, {res.n_cached:,} items from cache, "
        f"{res.seconds:.2f} s{rate}"
    )
    console.print(f"cache: {res.cache_dir / res.model_key}  (key {res.cache_key})")
    rows = np.linspace(0, len(cat) - 1, num=min(5, len(cat)), dtype=int)
    nn = nearest_neighbours(res.vectors, rows, k=3)
    table = Table(title="nearest neighbours (cosine) — a sanity check of the embedding space")
    table.add_column("item")
    table.add_column("closest items")
    for r, nbrs in zip(rows, nn):
        table.add_row(cat.titles[r], "; ".join(cat.titles[j] for j in nbrs))
    console.print(table)
    console.print("use this catalog in a run config (banditsim config prints every key):", markup=False)
    console.print(catalog_snippet(catalog, _columns(text_columns), id_column, category_column, embedding_model,
                                  cache_dir), markup=False, soft_wrap=True)


def catalog_snippet(catalog: str, text_columns: list[str], id_column: str, category_column: Optional[str],
                    embedding_model: Optional[str], cache_dir: Optional[Path]) -> str:
    """The config lines that run on the catalog just embedded (paths made absolute, YAML-quoted)."""
    import yaml

    from banditsim.sim.config.files import BUILTIN_NAMES

    def flow(d: dict) -> str:
        return yaml.safe_dump([d], default_flow_style=True, sort_keys=False, width=10_000,
                              allow_unicode=True).strip()[1:-1]

    builtin = catalog in BUILTIN_NAMES[("catalog", "source")]
    section = {"source": catalog if builtin else str(Path(catalog).expanduser().resolve()),
               "text_columns": list(text_columns), "id_column": id_column}
    if category_column:
        section["category_column"] = category_column
    lines = [f"catalog: {flow(section)}"]
    emb = {}
    if embedding_model:
        model = Path(embedding_model).expanduser()
        emb["model"] = str(model.resolve()) if model.exists() else embedding_model
    if cache_dir is not None:
        emb["cache_dir"] = str(Path(cache_dir).expanduser().resolve())
    if emb:
        lines.append(f"embedding: {flow(emb)}")
    if not builtin:
        lines.append("population: {kind: clusters, n_users: 1000}  # or kind: ratings with your log (README)")
    return "\n".join(lines)


@app.command()
def config() -> None:
    """Print the full default run config, one comment per key (save it, edit it, run it)."""
    from banditsim.sim.config.printer import default_config_text

    sys.stdout.write(default_config_text())
    sys.stdout.flush()


@app.command()
def embed(catalog: str = CatalogOpt, text_columns: str = TextColumnsOpt, id_column: str = IdColumnOpt,
          category_column: Optional[str] = CategoryColumnOpt, embedding_model: Optional[str] = ModelOpt,
          device: str = DeviceOpt, cache_dir: Optional[Path] = CacheOpt,
          backend: str = typer.Option("auto", "--backend", help="auto (onnxruntime on the CPU when installed), "
                                      "torch or onnx.")) -> None:
    """Embed a catalog's item texts (cached on disk) and show a few nearest neighbours."""
    _embed_and_report(catalog, text_columns, id_column, category_column, embedding_model, device,
                      cache_dir, backend)


@app.command()
def run(config: Optional[Path] = typer.Argument(None, help="Run config (YAML/TOML); default: the quickstart."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder (default runs/<name>-<time>)."),
        seeds: Optional[int] = typer.Option(None, "--seeds", help="Number of seeds (overrides run.seeds)."),
        backend: Optional[str] = typer.Option(None, "--backend", help="local or ray (overrides run.backend)."),
        workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (overrides run.workers)."),
        device: Optional[str] = typer.Option(
            None, "--device", help="cpu or cuda (overrides run.device); cuda runs the world and the contextual "
                                   "agents in torch on the GPU. Torch on the CPU: --set run.compute=torch."),
        set_: List[str] = typer.Option([], "--set", help="Override a config key: --set run.horizon=500."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars.")) -> None:
    """Run an experiment (agents × seeds against the simulated users); no config = MovieLens quickstart."""
    with _progress_lines(not quiet):
        _run(config, out, seeds, backend, workers, device, set_, resume, quiet)


@contextmanager
def _progress_lines(enabled: bool):
    """``--quiet`` also silences the progress lines printed off a terminal, for this command only."""
    import os

    if enabled:
        yield
        return
    before = os.environ.get("BANDITSIM_PROGRESS")
    os.environ["BANDITSIM_PROGRESS"] = "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("BANDITSIM_PROGRESS", None)
        else:
            os.environ["BANDITSIM_PROGRESS"] = before


def _run(config, out, seeds, backend, workers, device, set_, resume, quiet) -> None:
    """The body of ``banditsim run`` (see :func:`run`)."""
    from banditsim.sim.config.files import load_config
    from banditsim.sim.run.prepare import check_cuda, compute_line
    from banditsim.sim.report.console_table import print_summary
    from banditsim.sim.run.runner import run_experiment

    overrides = list(set_)
    if seeds is not None:
        overrides.append(f"run.seeds={seeds}")
    if backend is not None:
        overrides.append(f"run.backend={backend}")
    if workers is not None:
        overrides.append(f"run.workers={workers}")
    if device is not None:
        overrides.append(f"run.device={device}")
    cfg = load_config(config, overrides)
    check_cuda(cfg, asked_by="--device cuda" if device == "cuda" else None)
    if resume and out is None:
        raise ValueError("--resume needs --out naming the interrupted run's folder")
    out = out or default_out(cfg.name)
    n_cells = cfg.run.seeds * len(cfg.agents)
    console.print(f"[bold]{cfg.name}[/]: {len(cfg.agents)} agents × {cfg.run.seeds} seeds = {n_cells} cells, "
                  f"{cfg.world.n_users:,} users × {cfg.run.horizon:,} steps each, backend {cfg.run.backend} "
                  f"→ {out}")
    line = compute_line(cfg)
    if line:
        console.print(line, markup=False)
    result = run_experiment(cfg, out, resume=resume, progress=not quiet and sys.stderr.isatty(),
                            log=console.print)
    print_summary(result.summary, console)
    console.print(f"results: {out}  ({result.cells_run} cells run, {result.cells_reused} reused, "
                  f"{result.seconds:.1f} s); plots: {', '.join(p.name for p in result.plots)}; report: {result.report.name}")


@app.command()
def fidelity(config: Optional[Path] = typer.Argument(None, help="Run config whose population to check (default: "
                                                                 "the MovieLens quickstart)."),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder (default runs/fidelity-<time>)."),
             set_: List[str] = typer.Option([], "--set", help="Override a config key.")) -> None:
    """How well the fitted users predict held-out ratings: AUC, calibration, cold items, beside baselines."""
    from banditsim.sim.studies.fidelity import main as fidelity_main
    from banditsim.sim.run.results_folder import claimed

    out = out or default_out("fidelity")
    argv = ([str(config)] if config is not None else []) + ["--out", str(out)]
    for item in set_:
        argv += ["--set", item]
    with claimed(out, "fidelity", discard_on_failure=True):
        code = fidelity_main(argv)
    if code:
        raise SystemExit(code)
    console.print(f"results: {out}")


@app.command()
def plot(results: Path = typer.Argument(..., help="A results folder written by banditsim run, ope or abtest.")) -> None:
    """Redraw the plots and report.html of a results folder."""
    from banditsim.sim.report.html_report import redraw

    for p in redraw(results):
        console.print(f"wrote {p}")


@app.command(name="list")
def list_things() -> None:
    """Name the built-in catalogs, the Gymnasium environments and the agents with their parameters."""
    import gymnasium as gym

    import banditsim.envs  # noqa: F401  (registers the environments)
    from banditsim.agents.registry import RESERVED_PARAMS, describe_agents
    from banditsim.envs.catalog import BUILTIN_CATALOGS

    table = Table(title="built-in catalogs")
    table.add_column("name")
    table.add_column("what")
    for name, what in BUILTIN_CATALOGS.items():
        table.add_row(name, what)
    console.print(table)
    table = Table(title="Gymnasium environments (import envs; gymnasium.make(id))")
    table.add_column("id")
    for env_id in sorted(k for k in gym.registry if k.startswith("banditsim/")):
        table.add_row(env_id)
    console.print(table)
    table = Table(title="agents (config: agents: [{name: ..., params: {...}}])")
    table.add_column("name")
    table.add_column("parameters (defaults)")
    for name, params in sorted(describe_agents().items()):
        shown = {k: v for k, v in params.items() if k not in RESERVED_PARAMS}
        table.add_row(name, ", ".join(f"{k}={v!r}" for k, v in shown.items()))
    console.print(table)


@app.command()
def ope(config: Optional[Path] = typer.Argument(None, help="OPE config (YAML/TOML); default: MovieLens experiment."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder (default runs/<name>-<time>)."),
        set_: List[str] = typer.Option([], "--set", help="Override a config key: --set experiment.max_rows=10000."),
        log: Optional[Path] = typer.Option(
            None, "--log", help="Your own logged data instead of a simulated run: parquet or CSV in banditsim's log "
                                "columns (action, pscore, reward; user_id, pi_<label> targets optional) or an OBP "
                                "bandit_feedback saved as .npz. No truth: estimates with diagnostics."),
        target: List[str] = typer.Option(
            [], "--target", help="With --log: a registered agent replayed on the first part of the log and evaluated "
                                 "on the rest, e.g. --target epsilon_greedy:epsilon=0.2 (repeatable)."),
        train_fraction: float = typer.Option(
            0.5, "--train-fraction", help="With --log: share of the log (in order) the --target agents learn from.")) -> None:
    """Off-policy estimates of target policies vs the simulator's exact truth (or on your own --log)."""
    from banditsim.sim.run.results_folder import claimed

    if log is not None:
        if config is not None or set_:
            raise ValueError("--log estimates on your own log; a config and --set describe the simulated "
                             "experiment: give one or the other")
        if not 0 < train_fraction < 1:
            raise ValueError(f"--train-fraction must be between 0 and 1 (exclusive), got {train_fraction}")
        out = out or default_out("ope-log")
        with claimed(out, "ope", discard_on_failure=True):
            _ope_on_log(log, target, train_fraction, out)
        console.print(f"results: {out}")
        return
    if target:
        raise ValueError("--target needs --log (in a config, targets are the 'targets' section)")
    from banditsim.sim.offline.config import load_ope_config

    cfg = load_ope_config(config, set_)
    out = out or default_out(cfg.name)
    with claimed(out, "ope", discard_on_failure=True):
        result = _ope_simulated(cfg, out)
    console.print(f"results: {out}  ({sum(result.seconds.values()):.1f} s after preparing the world)")


def _ope_on_log(log: Path, targets: List[str], train_fraction: float, out: Path) -> None:
    """Estimates, with diagnostics and no truth, on a user's own log; written into ``out`` (claimed)."""
    from banditsim.sim.offline.log_file import estimate_log_file, parse_agent_target
    from banditsim.sim.offline.output import ope_table, write_log_ope_results

    rows = estimate_log_file(log, [parse_agent_target(t) for t in targets], train_fraction=train_fraction)
    console.print(ope_table(rows, title=f"off-policy estimates on {log.name} (no truth)"))
    write_log_ope_results(out, log, rows, {"targets": list(targets), "train_fraction": train_fraction})


def _ope_simulated(cfg, out: Path):
    """The simulated OPE experiment: log, estimate, compare with the exact truth; written into ``out``."""
    from banditsim.sim.offline.experiment import run_ope_from_config
    from banditsim.sim.offline.output import ope_table, write_ope_results

    result = run_ope_from_config(cfg, progress=sys.stderr.isatty())
    lg = result.logging
    console.print(f"logging policy [bold]{lg['label']}[/]: {lg['rows']:,} rows (true value "
                  f"{lg['true_value']:.4f}, mean reward {lg['mean_reward']:.4f}); models fitted on "
                  f"{lg['warmup_rows']:,} warm-up rows")
    console.print(ope_table(result.rows))
    write_ope_results(out, cfg, result)
    return result


@app.command()
def abtest(config: Optional[Path] = typer.Argument(None, help="A/B config (YAML/TOML); default: MovieLens test."),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder (default runs/<name>-<time>)."),
           set_: List[str] = typer.Option([], "--set", help="Override a config key: --set test.power_tests=500.")) -> None:
    """Simulate an A/B test between two policies: lift, p-values, guardrails, users needed, power check."""
    from banditsim.sim.abtest.config import load_abtest_config
    from banditsim.sim.run.results_folder import claimed

    cfg = load_abtest_config(config, set_)
    out = out or default_out(cfg.name)
    with claimed(out, "abtest", discard_on_failure=True):
        result = _abtest_in(out, cfg)
    console.print(f"results: {out}  ({sum(result.seconds.values()):.1f} s after preparing the world)")


def _abtest_in(out: Path, cfg):
    """Run the A/B simulation, print its tables and write its results into ``out`` (claimed)."""
    from banditsim.sim.abtest.experiment import run_abtest_from_config
    from banditsim.sim.abtest.output import lift_rich_table, power_rich_table, write_abtest_results

    result = run_abtest_from_config(cfg, progress=sys.stderr.isatty())
    console.print(lift_rich_table(result.lifts, cfg.control.label, cfg.treatment.label))
    days = next(s["days"] for s in result.sizing if s["metric"] == result.primary)
    console.print(f"users per arm for {cfg.test.power:.0%} power at {cfg.test.alpha:.0%} significance to detect "
                  f"the observed lift in {result.primary}: [bold]{result.required_n:,}[/]"
                  + (f" ({days} days)" if days else ""))
    if result.power_curve:
        console.print(power_rich_table(result.power_curve))
    if result.note:
        console.print(result.note)
    write_abtest_results(out, cfg, result)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``banditsim`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]

    def call() -> None:
        import click

        try:
            code = app(args=args, prog_name="banditsim", standalone_mode=False)
        except typer.Exit as exc:
            if exc.exit_code:
                raise SystemExit(exc.exit_code)
            return
        except click.exceptions.Abort:  # click's own Ctrl-C (outside our signal handler)
            raise KeyboardInterrupt from None
        except Exception as exc:
            if any(c.__name__ == "ClickException" for c in type(exc).__mro__):
                print(f"error: {exc.format_message()}", file=sys.stderr)
                raise SystemExit(2)
            raise
        if isinstance(code, int) and code:  # click hands back the exit status it would have used
            raise SystemExit(code)

    from banditsim.sim.interrupts import catching_signals

    try:
        with catching_signals():
            return run_guarded(call, debug=debug)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def console_main() -> None:
    """The ``banditsim`` console script: :func:`main`, then exit with its status.

    After Ctrl-C or SIGTERM (status 130/143) the process ends right after flushing its output:
    everything worth keeping was written in ``finally`` blocks on the way out, and the
    interpreter's own teardown (torch, tokenizers, thread pools) can take seconds more.
    """
    import os

    code = main()
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
