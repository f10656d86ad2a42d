"""Shared pieces of the reliability tests (issue #9): the fork server client, a tiny sweep
config, and the tally of bad inputs that the session prints at the end."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("rel_forkserver.py")

# --------------------------------------------------------------------------- bad-input tally
#: (family, key) -> (clear, detail). A key is the distinct input (argv, file bytes' hash, ...).
BAD_INPUTS: dict[tuple[str, str], tuple[bool, str]] = {}


def record_bad_input(family: str, key: str, clear: bool, detail: str = "") -> None:
    """Count one distinct bad input and whether it produced one clear error line."""
    old = BAD_INPUTS.get((family, key))
    BAD_INPUTS[(family, key)] = (clear and (old is None or old[0]), detail)


#: (family, key) -> ok: inputs at the edge (huge texts) that must be accepted and handled, not rejected.
EDGE_INPUTS: dict[tuple[str, str], bool] = {}


def record_edge_input(family: str, key: str, ok: bool) -> None:
    EDGE_INPUTS[(family, key)] = ok and EDGE_INPUTS.get((family, key), True)


#: issue #15's adversarial cases: (class, key) -> outcome, one of TRUST_OUTCOMES.
TRUST_CASES: dict[tuple[str, str], str] = {}
TRUST_OUTCOMES = ("clear-error", "correct", "traceback", "wrong")


def record_trust(cls: str, key: str, outcome: str) -> None:
    """Count one adversarial input of issue #15's class ``cls`` (e.g. ``"4 cache"``) and how it ended:
    ``clear-error`` (one ``error:`` line, or a warning and a recomputation), ``correct`` (accepted and the
    result is right), ``traceback`` or ``wrong`` (a silently wrong result). A case is recorded before the
    test asserts on it, so a failing case still shows in the tally; the worst outcome of a key wins."""
    if outcome not in TRUST_OUTCOMES:
        raise ValueError(f"outcome must be one of {TRUST_OUTCOMES}, got {outcome!r}")
    old = TRUST_CASES.get((cls, key))
    rank = TRUST_OUTCOMES.index
    TRUST_CASES[(cls, key)] = outcome if old is None or rank(outcome) > rank(old) else old


def trust_tally() -> dict:
    """Per class: inputs tried and how many ended in each outcome."""
    out: dict[str, dict[str, int]] = {}
    for (cls, _), outcome in sorted(TRUST_CASES.items()):
        row = out.setdefault(cls, {"tried": 0, **{o: 0 for o in TRUST_OUTCOMES}})
        row["tried"] += 1
        row[outcome] += 1
    return out


def tally() -> dict:
    families: dict[str, list[int]] = {}
    for (family, _), (clear, _) in BAD_INPUTS.items():
        f = families.setdefault(family, [0, 0])
        f[0] += 1
        f[1] += int(clear)
    unclear = [f"{fam}: {key} -> {detail}" for (fam, key), (clear, detail) in BAD_INPUTS.items() if not clear]
    return {"tried": len(BAD_INPUTS), "clear": sum(v[0] for v in BAD_INPUTS.values()),
            "families": {k: {"tried": v[0], "clear": v[1]} for k, v in sorted(families.items())},
            "unclear": unclear[:20], "edge_accepted": sum(EDGE_INPUTS.values()), "edge_tried": len(EDGE_INPUTS)}


def check_cli_error(argv: list[str], capsys, family: str, key: str | None = None, expect: str | None = None,
                    must_not_exist: list[Path] = ()) -> str:
    """Run ``banditsim argv`` in-process; it must exit 2 with one ``error:`` line (naming ``expect``)
    and leave nothing at ``must_not_exist``. Records the outcome, then asserts it."""
    from banditsim.sim.cli import main

    capsys.readouterr()
    try:
        code = main(list(argv))
        crash = None
    except BaseException as exc:  # noqa: BLE001 - an escaping exception is a traceback for the user
        code, crash = None, f"{type(exc).__name__}: {exc}"
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    left = [str(p) for p in must_not_exist if Path(p).exists()]
    clear = (crash is None and code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
             and "Traceback" not in err and (expect is None or expect in err) and not left)
    record_bad_input(family, key or json.dumps(argv), clear, crash or err or f"exit {code}; left {left}")
    assert crash is None, crash
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    if expect is not None:
        assert expect in err, err
    assert not left, f"a rejected input left {left}"
    return err


# --------------------------------------------------------------------------- tiny sweep
ITEMS = ["space opera adventure", "romantic comedy in paris", "haunted house horror", "courtroom drama",
         "animated talking animals", "heist thriller", "war epic", "teen musical", "detective noir",
         "nature documentary", "superhero origin story", "slasher in the woods", "family road trip comedy",
         "alien invasion", "historical costume romance", "martial arts revenge"]


def write_tiny_catalog(folder: Path) -> Path:
    path = Path(folder) / "items.csv"
    genres = ["Sci-Fi", "Romance", "Horror", "Drama", "Animation", "Crime", "War", "Musical"]
    rows = [f"{i},{t},{genres[i % len(genres)]}" for i, t in enumerate(ITEMS)]
    path.write_text("id,title,genres\n" + "\n".join(rows) + "\n")
    return path


def tiny_config_text(catalog: Path, *, seeds: int = 3, horizon: int = 30, n_users: int = 8,
                     workers: int = 1, agents: str | None = None, extra: str = "") -> str:
    agents = agents or ("  - {name: beta_ts, params: {n_propensity_draws: 4}}\n"
                        "  - {name: ucb1}\n  - {name: linucb}\n  - {name: random}\n")
    return (f"name: tiny\n"
            f"catalog: {{source: {catalog}, text_columns: [title], category_column: genres}}\n"
            f"population: {{kind: clusters, n_users: 60, n_clusters: 4}}\n"
            f"agents:\n{agents}"
            f"run: {{seeds: {seeds}, horizon: {horizon}, workers: {workers}}}\n"
            f"world: {{n_users: {n_users}}}\n"
            f"log: {{max_rows_per_cell: 60}}\n{extra}")


def child_env(**extra: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


# --------------------------------------------------------------------------- fork server
class ForkServer:
    """Client of ``rel_forkserver.py``: fork pre-imported children, kill them, reap them."""

    def __init__(self, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, str(SERVER)], cwd=ROOT, env=env or child_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self.proc.stdout.readline()
        if not ready:
            raise RuntimeError("fork server did not start")
        self.children: set[int] = set()

    def _call(self, cmd: dict) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, target: str, args: list, log: Path, err: Path | None = None, session: bool = False) -> int:
        pid = self._call({"op": "start", "target": target, "args": args, "log": str(log),
                          "err": str(err) if err else None, "session": session})["pid"]
        self.children.add(pid)
        return pid

    def banditsim(self, argv: list[str], log: Path, session: bool = False) -> int:
        return self.start("banditsim.sim.cli:main", [list(argv)], log, session=session)

    def wait(self, pid: int) -> dict:
        reply = self._call({"op": "wait", "pid": pid})
        self.children.discard(pid)
        return reply

    def kill(self, pid: int) -> dict:
        os.kill(pid, signal.SIGKILL)
        return self.wait(pid)

    def rss_kib(self) -> int:
        return self._call({"op": "rss"})["rss_kib"]

    def alive(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    def close(self) -> None:
        for pid in list(self.children):
            try:
                self.kill(pid)
            except (ProcessLookupError, ValueError, OSError):
                pass
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def children_of(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        return []


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --------------------------------------------------------------------------- children for the cache tests
DIM = 384


def expected_vector(h: str):
    """The vector the cache writer stores for hash ``h`` (so any mix-up is detectable)."""
    import numpy as np

    base = int(hashlib.sha256(h.encode()).hexdigest()[:8], 16) % 1_000_003
    return (np.float32(base) + np.arange(DIM, dtype=np.float32) / DIM).astype(np.float32)


def cache_writer(cache_dir: str, model_key: str, seed: int, rows_per_shard: int = 200, cycle: int = 20) -> int:
    """Forever: put a batch of hashes (``cycle`` distinct batches, over and over) into the cache,
    then print the batch number (from then on it must survive anything)."""
    import numpy as np

    from banditsim.envs.embedding_cache import EmbeddingCache

    cache = EmbeddingCache(cache_dir, model_key)
    i = 0
    while True:
        hashes = [f"w{seed}-{i % cycle}-{j}" for j in range(rows_per_shard)]
        cache.put(hashes, np.stack([expected_vector(h) for h in hashes]))
        print(f"put {seed} {i}", flush=True)
        i += 1


def embed_child(texts: list, cache_dir: str, batch_size: int) -> int:
    from banditsim.envs.embedding import TextEmbedder, embed_texts

    res = embed_texts(texts, cache_dir=cache_dir, progress=False,
                      embedder=TextEmbedder(device="cpu", batch_size=batch_size))
    print(f"embedded {res.n_embedded} cached {res.n_cached}", flush=True)
    return 0


def limit_memory(extra_bytes: int) -> None:
    """Cap this process's address space at its current size plus ``extra_bytes``: an allocation
    beyond that raises MemoryError at once instead of swapping the machine."""
    import resource

    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra_bytes, vm + extra_bytes))


def main_with_memory_limit(limit_bytes: int, argv: list) -> int:
    """``banditsim argv`` with the address space capped at its current size + ``limit_bytes``."""
    from banditsim.sim.cli import main

    limit_memory(limit_bytes)
    return main(list(argv))


AGENTS_AT_SCALE = (("beta_ts", {"n_propensity_draws": 4}), ("linucb", {}), ("epsilon_greedy", {}))


def agents_over_big_catalog(n_items: int, n_users: int, steps: int, limit_bytes: int) -> int:
    """Agents alone over ``n_items`` arms (rewards from a fixed random table), under a memory cap."""
    import numpy as np

    from banditsim.agents import Context, Feedback, make_agent

    limit_memory(limit_bytes)
    rng = np.random.default_rng(0)
    value = rng.uniform(-1, 1, n_items)
    finite = True
    for name, params in AGENTS_AT_SCALE:
        agent = make_agent(name, n_items, random_state=0, **params)
        for _ in range(steps):
            x = rng.normal(size=(n_users, 16))
            mask = rng.random((n_users, n_items)) < 0.999
            ctx = Context(features=x, mask=mask)
            d = agent.act(ctx)
            kind = np.where(rng.random(n_users) < (value[d.actions] + 1) / 2, 6, 0)
            agent.update(ctx, d, Feedback(reward=np.where(kind == 6, 1.0, -1.0), kind=kind))
            finite &= bool(np.isfinite(d.propensities).all())
    print(json.dumps({"finite": finite}), flush=True)
    return 0


def simulate_big_catalog(n_items: int, dim: int, n_users: int, steps: int, limit_bytes: int = 0) -> int:
    """World + agents over ``n_items`` random unit item vectors; prints one JSON line of figures."""
    import numpy as np

    from banditsim.agents import Context, Feedback, make_agent
    from banditsim.envs.clusters import cluster_population
    from banditsim.envs.population import unit_rows
    from banditsim.envs.world import World

    if limit_bytes:
        limit_memory(limit_bytes)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    x = unit_rows(rng.normal(size=(n_items, dim)).astype(np.float32))
    pop = cluster_population(x, 200, n_clusters=20, seed=0)  # users around k-means clusters
    world = World(x, pop, n_users=n_users, seed=1)
    t_build = time.perf_counter() - t0
    finite, per_agent = True, {}
    for name, params in AGENTS_AT_SCALE:
        t = time.perf_counter()
        agent = make_agent(name, n_items, random_state=0, **params)
        obs = world.reset()
        for _ in range(steps):
            ctx = Context(features=obs.features, mask=obs.mask)
            d = agent.act(ctx)
            res = world.step(d.actions)
            agent.update(ctx, d, Feedback(reward=res.reward, kind=res.kind))
            finite &= bool(np.isfinite(res.reward).all() and np.isfinite(res.regret).all()
                           and np.isfinite(d.propensities).all())
            obs = res.observation
        per_agent[name] = round(time.perf_counter() - t, 2)
    print(json.dumps({"build_s": round(t_build, 2), "agents_s": per_agent, "finite": finite}), flush=True)
    return 0


# --------------------------------------------------------------------------- results folders
def cell_snapshot(out: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) of every completed cell's metrics file (a cell is complete once its
    ``done.json`` record exists): a recomputed cell changes it."""
    cells = out / "cells"
    if not cells.is_dir():
        return {}
    snap = {}
    for done in cells.glob("*.done.json"):
        p = done.with_name(done.name[:-len(".done.json")] + ".metrics.parquet")
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        snap[p.name] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return snap


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kill_damage(out: Path, before: dict, horizon: int) -> tuple[dict, int, int]:
    """After a kill: (cell snapshot, cells completed before it that changed, unreadable or short
    cell files). The manifest, when present, must parse (it is written atomically)."""
    import pyarrow.parquet as pq

    after = cell_snapshot(out)
    lost = sum(1 for name, st in before.items() if after.get(name) != st)
    corrupt = 0
    for name in after:
        try:
            rows = pq.read_metadata(out / "cells" / name).num_rows
        except FileNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - any unreadable cell file is a half-written result
            corrupt += 1
            continue
        corrupt += rows != horizon
    if (out / "manifest.json").exists():
        json.loads((out / "manifest.json").read_text())
    return after, lost, corrupt
