"""Mutation testing of the core math: plant one plausible bug at a time, see if the tests notice.

Each mutant is a textual edit (an operator swap, a changed constant, a dropped square root, a
forgotten mask, ...) of one core-math file: the agents' scoring, posteriors and propensities,
``envs/feedback.py``, the world's reward and oracle (``envs/world/``, ``envs/slate_choice.py``)
and ``sim/ope``.  The repository is copied once to a temporary folder (never the working tree);
each mutant edits the copy, runs its targeted test files (plus the mutated module's doctests)
with a timeout, and the file is restored.  A mutant is *killed* when the tests fail (or time
out), *survived* when they pass.  Each test selection is first run unmutated: a selection that
fails clean marks its mutants ``invalid`` instead of counting them as killed.

Usage::

    python -m bench.mutation                      # every mutant, the working tree's code and tests
    python -m bench.mutation --only ucb1,linucb   # mutants whose id contains one of these
    python -m bench.mutation --tests-from 7f0ca0d # the tests of that commit (a "before" score)
    python -m bench.mutation --list               # the mutants, no runs
    python -m bench.mutation --json out.json      # also write every result

Not part of ``.ci/run``: it runs the targeted tests once per mutant (tens of minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SKIP = {".git", ".venv", ".venv-ci", "runs", "__pycache__", ".mypy_cache", ".ruff_cache", "banditsim.egg-info"}


@dataclass(frozen=True)
class Mutant:
    """One textual mutation: ``old`` (must occur exactly once in ``path``) becomes ``new``.

    ``alts``: other (old, new) pairs for other versions of the file (the first pair whose
    ``old`` occurs exactly once is applied), so one list can mutate an older commit too."""

    id: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    alts: tuple[tuple[str, str], ...] = ()

    def pair(self, text: str) -> tuple[str, str] | None:
        """The (old, new) pair that applies to ``text``, or None."""
        for old, new in ((self.old, self.new), *self.alts):
            if text.count(old) == 1:
                return old, new
        return None


T_CORR = "tests/agents/test_correctness.py"
T_PROP = "tests/agents/test_propensities.py"
T_READ = "tests/agents/test_propensities_on_read.py"
T_LAZY = "tests/agents/test_lazy_thompson.py"
T_POST = "tests/agents/test_linear_posteriors.py"
T_CONF = "tests/agents/test_conformance.py"
T_BACK = "tests/agents/test_linear_backends.py"
T_REF = "tests/agents/test_index_references.py"
T_PREF = "tests/agents/test_propensity_references.py"
T_FB = "tests/envs/test_feedback.py"
T_FBD = "tests/envs/test_feedback_distributions.py"
T_WORLD = "tests/envs/test_world.py"
T_FAST = "tests/envs/test_fast_paths.py"
T_OPE = ("tests/ope/test_components.py", "tests/ope/test_statistics.py", "tests/ope/test_obp_parity.py")

AG = (T_REF, T_PREF, T_CORR, T_PROP, T_READ, T_CONF)
LIN = (T_REF, T_PREF, T_CORR, T_POST, T_PROP, T_BACK)
TS = (T_PREF, T_REF, T_CORR, T_PROP, T_READ, T_LAZY)
ENV = (T_FBD, T_FB, T_WORLD, T_FAST)


SLOW = "not regret and not lai_robbins"
"""The regret tests take a minute each on 2 cores and back up the closed-form checks; the
mutation runs leave them out by default (``-k ''`` puts them back)."""


def _m(id_, path, old, new, tests, *alts):
    return Mutant(id_, path, old, new, tuple(tests), tuple(alts))


MUTANTS: list[Mutant] = [
    # ---------------------------------------------------------------- index agents
    _m("ucb1/bonus-2-to-1", "agents/ucb1.py", "np.sqrt(2.0 * np.log(t) / n)", "np.sqrt(np.log(t) / n)", AG),
    _m("ucb1/no-sqrt", "agents/ucb1.py", "np.sqrt(2.0 * np.log(t) / n)", "(2.0 * np.log(t) / n)", AG),
    _m("ucb1/t-max-not-sum", "agents/ucb1.py", "n.sum(axis=1, keepdims=True)", "n.max(axis=1, keepdims=True)", AG),
    _m("ucb1/unpulled-last", "agents/ucb1.py", "np.where(n > 0, index, np.inf)", "np.where(n > 0, index, -np.inf)", AG),
    _m("kl_ucb/budget-2logt", "agents/kl_ucb.py", "budget = log_t + self.c", "budget = 2.0 * log_t + self.c", AG),
    _m("kl_ucb/level-sqrt-n", "agents/kl_ucb.py", "budget / safe_n", "budget / np.sqrt(safe_n)", AG),
    _m("kl_ucb/kl-second-term-flipped", "agents/kl_ucb.py", "np.log((1 - p) / (1 - q))", "np.log((1 - q) / (1 - p))", AG),
    _m("kl_ucb/upper-limit-0.9", "agents/kl_ucb.py", "hi = np.ones_like(lo)", "hi = np.full_like(lo, 0.9)", AG),
    _m("linucb/no-sqrt", "agents/linucb.py", "self.alpha * np.sqrt(quad)", "self.alpha * quad", LIN),
    _m("linucb/minus-bonus", "agents/linucb.py", "return mean, bonus, mean + bonus", "return mean, bonus, mean - bonus", LIN,
       ("mean + self.alpha", "mean - self.alpha")),
    # ---------------------------------------------------------------- linear posteriors
    _m("disjoint/sherman-morrison-no-sqrt", "agents/_linear/posterior_disjoint.py",
       "v = u / xp.sqrt(1.0 + row_dot(xw, u))[:, None]", "v = u / (1.0 + row_dot(xw, u))[:, None]", LIN,
       ("v = u / np.sqrt(1.0 + np.einsum(\"pd,pd->p\", xw, u))[:, None]",
        "v = u / (1.0 + np.einsum(\"pd,pd->p\", xw, u))[:, None]")),
    _m("disjoint/off-diagonal-once", "agents/_linear/posterior_disjoint.py",
       "outer *= self._pack_scale", "outer *= 1.0", LIN),
    _m("disjoint/prior-ridge-not-inverse", "agents/_linear/posterior_disjoint.py",
       "self._cov[..., diag, diag] = 1.0 / ridge", "self._cov[..., diag, diag] = ridge", LIN,
       ("self.cov[..., np.arange(dim), np.arange(dim)] = 1.0 / ridge",
        "self.cov[..., np.arange(dim), np.arange(dim)] = ridge")),
    _m("disjoint/woodbury-no-symmetrise-sign", "agents/_linear/posterior_disjoint.py",
       "inner = xp.eye(width, dtype=xp.float64, device=self.device) + xp.matmul(xm, u)",
       "inner = xp.eye(width, dtype=xp.float64, device=self.device) - xp.matmul(xm, u)", LIN,
       ("inner = np.eye(width) + np.matmul(xm, u)", "inner = np.eye(width) - np.matmul(xm, u)")),
    _m("linear/sampler-std-no-sqrt", "agents/_linear/model.py",
       "std = scale * np.sqrt(quad)", "std = scale * quad", LIN),
    _m("linear/quadrature-std-no-sqrt", "agents/_linear/model.py",
       "return mean, row_scale(self, rows.replica) * np.sqrt(quad)",
       "return mean, row_scale(self, rows.replica) * quad", LIN,
       ("return mean, self._score_scale() * np.sqrt(quad)", "return mean, self._score_scale() * quad")),
    _m("linear/shared-draw-unscaled", "agents/_linear/model.py",
       "u = mean_u + scale * np.einsum", "u = mean_u + np.einsum", LIN),
    # ---------------------------------------------------------------- Thompson posteriors
    _m("beta_ts/beta-a-plus-b", "agents/beta_ts.py",
       "return x / (x + rng.standard_gamma(b, size=size))", "return x / (x + rng.standard_gamma(a + b, size=size))", TS),
    _m("beta_ts/overconfident-4x", "agents/beta_ts.py",
       "    size = (n, *a.shape)\n", "    a, b = 4 * a, 4 * b\n    size = (n, *a.shape)\n", TS),
    _m("beta_ts/failure-counts-whole", "agents/beta_ts.py",
       "np.add.at(self.beta, (rows.replica, arms), 1.0 - success)", "np.add.at(self.beta, (rows.replica, arms), 1.0)", TS),
    _m("gaussian_ts/prior-mean-dropped", "agents/gaussian_ts.py",
       "mean = (self.prior_mean * prior_precision + ", "mean = (", TS),
    _m("gaussian_ts/std-not-sqrt", "agents/gaussian_ts.py",
       "return mean, 1.0 / np.sqrt(precision)", "return mean, 1.0 / precision", TS),
    _m("gaussian_ts/propensity-draws-2x-wide", "agents/gaussian_ts.py",
       "return lambda n, rng: mean + std * rng.standard_normal", "return lambda n, rng: mean + 2 * std * rng.standard_normal", TS),
    _m("dirichlet_ts/propensity-overconfident", "agents/dirichlet_ts.py",
       "g = rng.standard_gamma(counts, size=(n, *counts.shape))", "g = rng.standard_gamma(4 * counts, size=(n, *counts.shape))", TS),
    _m("dirichlet_ts/sampler-extra-pseudocount", "agents/dirichlet_ts.py",
       "draw = score_draws(self.counts[rows.replica], ", "draw = score_draws(self.counts[rows.replica] + 1.0, ", TS),
    _m("dirichlet_ts/double-count", "agents/dirichlet_ts.py",
       "np.add.at(self.counts, (rows.replica, arms, kind), 1.0)", "np.add.at(self.counts, (rows.replica, arms, kind), 2.0)", TS),
    # ---------------------------------------------------------------- propensities
    _m("eps_greedy/mask-ignored-in-propensity", "agents/epsilon_greedy.py",
       "n_allowed = mask.sum(axis=1).astype(np.float64)", "n_allowed = np.full(n, float(self.n_arms))", AG),
    _m("eps_greedy/probabilities-mask-dropped", "agents/epsilon_greedy.py",
       "return eps * allowed / n_allowed[:, None]", "return eps / n_allowed[:, None]", AG),
    _m("eps_greedy/slate-greedy-unweighted", "agents/epsilon_greedy.py",
       "self.epsilon * p_random + (1.0 - self.epsilon) * p_greedy", "self.epsilon * p_random + p_greedy", AG),
    _m("selection/greedy-position-strict", "agents/_propensity/greedy.py",
       "inside = (n_greater <= pos) & (pos < n_greater + n_equal)", "inside = (n_greater <= pos) & (pos <= n_greater + n_equal)", AG),
    _m("selection/uniform-position-ignores-mask", "agents/_propensity/greedy.py",
       "n_allowed = np.full(n_rows, float(n_arms)) if mask is None else mask.sum(axis=1).astype(np.float64)",
       "n_allowed = np.full(n_rows, float(n_arms))", AG),
    _m("selection/mc-realised-draw-not-counted", "agents/_propensity/monte_carlo.py",
       "propensities = (1.0 + hits) / (1.0 + n_draws)", "propensities = (1.0 + hits) / n_draws", AG),
    # ---------------------------------------------------------------- envs/feedback.py
    _m("feedback/outer-offset-inner", "banditsim/feedback_kinds.py",
       'FeedbackKind("dislike", -0.5, "negative", ("neg", "-outer_offset")',
       'FeedbackKind("dislike", -0.5, "negative", ("neg", "-inner_offset")', ENV),
    _m("feedback/probabilities-no-temperature", "envs/feedback.py",
       "cdf = _sig((cuts - utility[..., None]) / temperature[..., None])", "cdf = _sig(cuts - utility[..., None])", ENV),
    _m("feedback/expected-sign", "envs/feedback.py",
       "return rewards[-1] - cdf.sum(-1)", "return rewards[-1] + cdf.sum(-1)", ENV,
       ("return rewards[6] - cdf.sum(-1)", "return rewards[6] + cdf.sum(-1)")),
    _m("feedback/big-batch-no-temperature", "envs/feedback.py",
       "term = _sig((cuts[..., k] - utility) * inv_t) * step", "term = _sig(cuts[..., k] - utility) * step", ENV),
    _m("feedback/halved-noise", "envs/feedback.py",
       "latent = utility + temperature * eps", "latent = utility + 0.5 * temperature * eps", ENV),
    _m("feedback/scaled-halved-noise", "envs/feedback.py",
       "        latent += y\n", "        latent *= 0.5\n        latent += y\n", ENV),
    _m("feedback/scaled-cuts-times-T", "envs/feedback.py",
       "ct = (cuts / temperature[:, None]).T", "ct = (cuts * temperature[:, None]).T", ENV),
    _m("feedback/scaled-expected-sign", "envs/feedback.py",
       "return top - np.einsum(", "return top + np.einsum(", ENV),
    _m("feedback/last-step-dropped", "envs/feedback.py",
       "ks = [k for k in range(N_CUTS) if steps[k] != 0.0]", "ks = [k for k in range(N_CUTS - 1) if steps[k] != 0.0]", ENV,
       ("ks = [k for k in range(6) if steps[k] != 0.0]", "ks = [k for k in range(5) if steps[k] != 0.0]")),
    _m("feedback/logit-sign", "envs/feedback.py",
       "latent = np.log(uniforms) - np.log1p(-uniforms)\n        latent += y",
       "latent = np.log1p(-uniforms) - np.log(uniforms) + 0.2\n        latent += y", ENV),
    # ---------------------------------------------------------------- the world's reward and oracle
    _m("world/blocked-expected-not-block", "envs/world/single_path.py",
       "e_chosen = xp.where(blocked, float(self.rewards[BLOCK]), e_chosen)", "e_chosen = e_chosen", ENV,
       ("e_chosen = be.where(blocked, float(self.rewards[BLOCK]), e_chosen)", "e_chosen = e_chosen"),
       ("best, e_chosen = be.to_numpy(e2[0]), be.where(blocked, r_block, e2[1])", "best, e_chosen = be.to_numpy(e2[0]), e2[1]")),
    _m("world/step-no-temperature", "envs/world/single_path.py",
       "y = util * self._inv_temperature  # utility in temperature units",
       "y = util  # utility in temperature units", ENV),
    _m("world/oracle-no-temperature", "envs/world/utility.py",
       "z = (cuts[..., ks] - u[..., None]) / temp[..., None]", "z = cuts[..., ks] - u[..., None]", ENV,
       ("y_best = u_best[:, 0] * self._it", "y_best = u_best[:, 0]")),
    _m("world/oracle-item-bias-dropped", "envs/world/utility.py",
       "u = f64(self._kappa[rows]) * f64(s) + f64(self._user_bias[rows]) + f64(self._tables.item_bias[cols])",
       "u = f64(self._kappa[rows]) * f64(s) + f64(self._user_bias[rows])", ENV,
       ("val = expected_reward_scaled(u[:, 0] * self._it, self._ct, self.rewards)",
        "val = expected_reward_scaled(u[:, 0], self._ct, self.rewards)")),
    _m("world/exam-inverted", "envs/world/slate_path.py",
       "exam = exam_u < self.config.cascade.examination_probs(k)[None, :]",
       "exam = exam_u > self.config.cascade.examination_probs(k)[None, :]", ENV),
    _m("world/cascade-ignores-examination", "envs/world/slate_path.py",
       "resp = exam & (kall != NEUTRAL)", "resp = kall != NEUTRAL", ENV),
    _m("world/expected-rewards-ignore-blocks", "envs/world/utility.py",
       "e = xp.where(self._allowed, e, float(self.rewards[BLOCK]))", "e = e", ENV,
       ("e = be.where(self._allowed, e, float(self.rewards[BLOCK]))", "e = e"),
       ("e = self.be.where(self._allowed, e, float(self.rewards[BLOCK]))", "e = e")),
    _m("world/reward-off-by-one-kind", "envs/world/core.py",
       "reward = self.rewards[ans.kinds]", "reward = self.rewards[np.maximum(ans.kinds - 1, 0)]", ENV),
    _m("slate/reach-ignores-examination", "envs/slate_choice.py",
       "reach = reach * (1.0 - exam[p] * h[:, p])", "reach = reach * (1.0 - h[:, p])", ENV),
    _m("slate/neutral-value-dropped", "envs/slate_choice.py",
       "return value + reach * rewards[NEUTRAL]", "return value", ENV),
    # ---------------------------------------------------------------- sim/ope
    _m("ope/weights-mean-pscore", "sim/ope/_common.py",
       "return pi_e / log.pscore", "return pi_e / log.pscore.mean()", T_OPE),
    _m("ope/factual-position-0", "sim/ope/_common.py",
       "q[rows, log.action, log.position]", "q[rows, log.action, 0]", T_OPE),
    _m("ope/snips-not-normalised", "sim/ope/ipw.py",
       'make_estimate("snips", w * log.reward, w,', 'make_estimate("snips", w * log.reward, None,', T_OPE),
    _m("ope/dr-unweighted-residual", "sim/ope/doubly_robust.py",
       "dm + w * residual", "dm + residual", T_OPE),
    _m("ope/dr-residual-sign", "sim/ope/doubly_robust.py",
       "log.reward - q_factual", "q_factual - log.reward", T_OPE),
    _m("ope/switch-strict", "sim/ope/switch_dr.py", "np.where(w <= tau,", "np.where(w < tau,", T_OPE),
    _m("ope/clt-se-over-n", "sim/ope/intervals.py",
       "se = float(infl.std(ddof=1) / np.sqrt(n))", "se = float(infl.std(ddof=1) / n)", T_OPE),
    _m("ope/clt-z-one-sided", "sim/ope/intervals.py",
       "q = 1.0 - alpha / 2.0", "q = 1.0 - alpha", T_OPE,
       ("z = float(norm.ppf(1.0 - alpha / 2.0))", "z = float(norm.ppf(1.0 - alpha))")),
]


def module_of(m: Mutant) -> str:
    """The reporting group of a mutant: its file, with the world's files together."""
    if m.path.startswith("envs/world/") or m.path == "envs/slate_choice.py":
        return "world reward/oracle"
    if m.path.startswith("sim/ope/"):
        return "sim/ope"
    return m.path


def copy_tree(dest: Path, source: str | None, tests_from: str | None) -> None:
    """The repository (working tree, or ``source`` commit) into ``dest``; tests/ from ``tests_from``."""
    if source:
        _archive(source, None, dest)
    else:
        shutil.copytree(ROOT, dest, ignore=lambda d, names: [n for n in names if n in _SKIP], dirs_exist_ok=True)
    if tests_from:
        shutil.rmtree(dest / "tests")
        _archive(tests_from, "tests", dest)
    link_package_folders(dest)


def link_package_folders(tree: Path) -> None:
    """Make ``import banditsim.envs`` (and .agents, .sim) load the copy's folders, not the installed
    checkout's: ``tree/banditsim`` comes first on PYTHONPATH, and a link ``banditsim/envs -> ../envs``
    is where the import looks for the subpackage. A commit from before the package existed (its
    code imports ``envs``, found through PYTHONPATH) needs no links."""
    package = tree / "banditsim"
    if not package.is_dir():
        return
    for folder in ("envs", "agents", "sim"):
        link = package / folder
        if not link.exists():
            link.symlink_to(Path("..") / folder, target_is_directory=True)


def _archive(commit: str, sub: str | None, dest: Path) -> None:
    cmd = ["git", "-C", str(ROOT), "archive", "--format=tar", commit] + ([sub] if sub else [])
    tar = subprocess.run(cmd, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)


def run_tests(tree: Path, files: list[str], timeout: float, deselect: str = "") -> tuple[str, float, str]:
    """Run pytest on ``files`` inside ``tree``: ('pass' | 'fail' | 'timeout', seconds, last line)."""
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files]
    if deselect:
        cmd += ["-k", deselect]
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, ""
    lines = [ln for ln in (out.stdout + out.stderr).strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    failed_test = next((ln for ln in lines if ln.startswith("FAILED") or ln.startswith("ERROR")), last)
    return ("pass" if out.returncode == 0 else "fail"), time.perf_counter() - start, failed_test


def selection(tree: Path, m: Mutant) -> list[str]:
    """The mutant's test files that exist in ``tree``, plus the mutated module (its doctests)."""
    return [m.path] + [t for t in m.tests if (tree / t).is_file()]


def main(argv: list[str] | None = None) -> int:
    """Run the mutants one at a time; print killed/survived per module."""
    ap = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated substrings of mutant ids")
    ap.add_argument("--source", default=None, help="commit whose code to mutate (default: the working tree)")
    ap.add_argument("--tests-from", default=None, help="commit whose tests/ to run (default: the same tree)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per test run")
    ap.add_argument("-k", dest="deselect", default=SLOW,
                    help=f"pytest -k expression applied to every run (default: {SLOW!r}; '' runs everything)")
    ap.add_argument("--json", default=None, help="write every result to this file")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s]
    mutants = [m for m in MUTANTS if not wanted or any(w in m.id for w in wanted)]
    if args.list:
        for m in mutants:
            print(f"{m.id:45s} {m.path}")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="mut-", dir="/tmp"))
    try:
        copy_tree(tmp, args.source, args.tests_from)
        return _run_all(tmp, mutants, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_all(tree: Path, mutants: list[Mutant], args) -> int:
    for m in mutants:  # every mutant applies to exactly one place, or the list is stale
        if m.pair((tree / m.path).read_text()) is None:
            print(f"error: mutant {m.id}: its text does not occur exactly once in {m.path}", file=sys.stderr)
            return 2
    baseline: dict[tuple[str, ...], str] = {}
    results = []
    for i, m in enumerate(mutants, 1):
        files = selection(tree, m)
        key = tuple(files)
        if key not in baseline:
            status, secs, last = run_tests(tree, files, args.timeout, args.deselect)
            baseline[key] = status
            print(f"[clean] {' '.join(files)}: {status} in {secs:.0f}s {'' if status == 'pass' else last}", flush=True)
        src = tree / m.path
        original = src.read_text()
        src.write_text(original.replace(*m.pair(original)))
        try:
            status, secs, last = run_tests(tree, files, args.timeout, args.deselect)
        finally:
            src.write_text(original)
        if baseline[key] != "pass":
            outcome = "invalid"
        else:
            outcome = "survived" if status == "pass" else "killed"
        results.append({"id": m.id, "module": module_of(m), "outcome": outcome, "status": status,
                        "seconds": round(secs, 1), "by": last if outcome == "killed" else "", "tests": files})
        print(f"[{i}/{len(mutants)}] {m.id}: {outcome} ({status}, {secs:.0f}s) {last if outcome == 'killed' else ''}",
              flush=True)
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"tests_from": args.tests_from, "source": args.source,
                                               "results": results}, indent=1))
    return 0


def report(results: list[dict]) -> str:
    """A per-module table of killed / survived (invalid mutants excluded from the score)."""
    lines = ["", "| module | mutants | killed | survived | score |", "|---|---:|---:|---:|---:|"]
    modules = sorted({r["module"] for r in results})
    for mod in modules + ["all"]:
        rs = [r for r in results if mod == "all" or r["module"] == mod]
        k = sum(r["outcome"] == "killed" for r in rs)
        s = sum(r["outcome"] == "survived" for r in rs)
        score = f"{100 * k / (k + s):.0f}%" if k + s else "-"
        lines.append(f"| {mod} | {len(rs)} | {k} | {s} | {score} |")
    survivors = [r["id"] for r in results if r["outcome"] == "survived"]
    lines.append("")
    lines.append("survived: " + (", ".join(survivors) if survivors else "none"))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
