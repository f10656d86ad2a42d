"""Problem (d): embedding throughput through ``envs.embedding``, before and after issue #17's speed-up.

For each catalog, the MovieLens titles (1,682 short texts) and a synthetic catalog of longer texts
of varied length (2,000 texts of 20-120 words), with one loaded model, on every CPU this process
may use (``N`` = :func:`envs.cpu_threads.usable_cpus`, 2 here) whatever ``--blas-threads`` says:

* **before**: the embedding loop as it was (batches of 64 texts ordered by characters, every
  batch tokenised with padding, torch at ``N`` intra-op threads), kept here as :func:`embed_before`;
* **shipped, torch**: ``TextEmbedder(backend="torch").embed`` (token-ordered batches within a token
  budget, tokenised once; ``N`` workers, each running whole batches with one torch thread, see
  :mod:`banditsim.envs.embed_workers`);
* **shipped, default**: ``TextEmbedder().embed`` as it ships: the same batching and workers, the
  model in onnxruntime (:mod:`banditsim.envs.embed_onnx`; its export made beforehand, not timed).

The three run in turn, ``repeat`` rounds, best of each (the least disturbed by other processes);
the after rows carry the ratio to before and the largest difference of any vector component.
Then, on the MovieLens titles as before: cold with the model load included, and a cache hit.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from bench.timing import load


def synthetic_texts(n: int, words: tuple[int, int] = (20, 120), seed: int = 0) -> list[str]:
    """``n`` item descriptions of ``words[0]``-``words[1]`` words (uniform), drawn from the MovieLens
    titles' vocabulary with a fixed seed."""
    from banditsim.envs.catalog import movielens_catalog

    vocab = sorted(set(" ".join(movielens_catalog().texts).split()))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(words[0], words[1] + 1, size=n)
    picks = rng.integers(0, len(vocab), size=int(sizes.sum()))
    ends = np.cumsum(sizes)
    return [" ".join(vocab[j] for j in picks[e - s:e]) for s, e in zip(sizes, ends)]


def embed_before(emb, texts: list[str]) -> np.ndarray:
    """The loop ``TextEmbedder.embed`` ran before issue #17 (batches of ``emb.batch_size`` ordered by
    character count, each tokenised with padding, torch's thread count as found): the baseline."""
    import torch

    emb._load()
    out = np.zeros((len(texts), emb.dim), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), emb.batch_size):
            idx = order[start:start + emb.batch_size]
            batch = emb._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                   max_length=emb.max_length, return_tensors="pt").to(emb.device)
            hidden = emb._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy()
    return out


def compare(name: str, texts: list[str], repeat: int, log=print, cpus: int | None = None) -> list[dict]:
    """Rows before / shipped torch / shipped default on ``cpus`` workers (default: every usable CPU)
    on one catalog; best of ``repeat`` rounds."""
    from banditsim.envs.cpu_threads import torch_threads, usable_cpus
    from banditsim.envs.embedding import TextEmbedder

    cpus = cpus or usable_cpus()
    torch_emb = TextEmbedder(device="cpu", threads=cpus, backend="torch")
    torch_emb._load()
    default = TextEmbedder(device="cpu", threads=cpus)
    default._load()

    def before(some):
        with torch_threads(cpus):
            return embed_before(torch_emb, some)

    runs = {f"before (char-sorted batches of 64, {cpus} threads)": before,
            f"shipped, torch ({cpus} workers x 1 thread)": lambda some: torch_emb.embed(some, progress=False),
            f"shipped, default ({default.backend}, {cpus} workers x 1 thread)":
                lambda some: default.embed(some, progress=False)}
    for run in runs.values():  # warm-up, not timed: first calls allocate and spawn threads
        run(texts[:16])
    best = dict.fromkeys(runs, float("inf"))
    vectors, loads = {}, []
    for _ in range(max(1, repeat)):
        for policy, run in runs.items():
            loads.append(load())
            t0 = time.perf_counter()
            vectors[policy] = run(texts)
            best[policy] = min(best[policy], time.perf_counter() - t0)
    loads.append(load())
    base = next(iter(runs))
    rows = []
    for policy, seconds in best.items():
        n = len(texts)
        row = {"problem": f"(d) embedding {n} {name}", "policy": policy, "impl": "banditsim", "seconds": seconds,
               "texts_per_s": n / seconds, "n_texts": n, "load": max(loads), "load_min": min(loads)}
        note = f"best of {max(1, repeat)}"
        if policy != base:
            row["ratio"] = best[base] / seconds
            row["max_abs_diff"] = float(np.abs(vectors[policy] - vectors[base]).max()) if n else 0.0
            note += f"; {row['ratio']:.2f}x before; max |diff| {row['max_abs_diff']:.1e}"
        row["note"] = note
        rows.append(row)
        versus = "" if policy == base else f"{row['ratio']:5.2f}x  max|diff| {row['max_abs_diff']:.1e}"
        log(f"  (d) {name[:24]:24s} {policy:50s} {row['texts_per_s']:8,.1f} texts/s {seconds:8.3f} s  {versus}"
            f"  (load {min(loads):.2f}-{max(loads):.2f})", flush=True)
    return rows


def run_embedding(n_texts: int | None, repeat: int, log=print) -> list[dict]:
    """Rows for (d): before/after on the MovieLens titles and on longer synthetic texts (the first
    ``n_texts`` of each, or all), then cold-with-load and cache-hit on the titles."""
    from banditsim.envs.catalog import movielens_catalog
    from banditsim.envs.cpu_threads import usable_cpus
    from banditsim.envs.embedding import TextEmbedder, embed_texts

    titles = movielens_catalog().texts[:n_texts]
    rows = compare("MovieLens titles", titles, repeat, log)
    rows += compare("texts of 20-120 words", synthetic_texts(2000)[:n_texts], repeat, log)
    n = len(titles)

    def row(policy, seconds, note):
        rows.append({"problem": f"(d) embedding {n} MovieLens titles", "policy": policy, "impl": "banditsim",
                     "seconds": seconds, "texts_per_s": n / seconds, "n_texts": n, "load": load(), "note": note})
        log(f"  (d) {policy:36s} {n / seconds:10,.0f} texts/s  {seconds:8.3f} s   (load {rows[-1]['load']:.2f})",
            flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        emb = TextEmbedder(threads=usable_cpus())
        t0 = time.perf_counter()
        res = embed_texts(titles, cache_dir=f"{tmp}/cold", progress=False, embedder=emb)
        row("cold, model load included", time.perf_counter() - t0,
            f"{res.model_name} on {emb.device}, {emb.workers()} worker(s)")
        best = float("inf")
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            hit = embed_texts(titles, cache_dir=f"{tmp}/cold", progress=False, embedder=TextEmbedder())
            best = min(best, time.perf_counter() - t0)
        assert hit.n_embedded == 0, "cache miss on the second pass"
        row("cache hit (load from disk)", best, f"best of {repeat}; model not loaded")
    return rows
