"""Problem (d): embedding throughput through ``envs.embedding.embed_texts``.

* cold, model load included: a fresh ``TextEmbedder`` and a fresh temporary cache folder;
* cold, model already loaded: the same embedder into a second fresh cache folder
  (pure transformer throughput, best of ``repeat``);
* cache hit: a fresh embedder on the filled cache (the model is never loaded).
"""

from __future__ import annotations

import tempfile
import time

from bench.timing import load


def run_embedding(n_texts: int | None, repeat: int, log=print) -> list[dict]:
    """Rows for (d) on the MovieLens titles (the first ``n_texts`` of them, or all)."""
    from envs.catalog import movielens_catalog
    from envs.embedding import TextEmbedder, embed_texts

    texts = movielens_catalog().texts[:n_texts]
    n = len(texts)
    rows = []

    def row(policy, seconds, note):
        rows.append({"problem": f"(d) embedding {n} MovieLens titles", "policy": policy, "impl": "banditsim",
                     "seconds": seconds, "texts_per_s": n / seconds, "n_texts": n, "load": load(), "note": note})
        log(f"  (d) {policy:36s} {n / seconds:10,.0f} texts/s  {seconds:8.3f} s   (load {rows[-1]['load']:.2f})")

    with tempfile.TemporaryDirectory() as tmp:
        emb = TextEmbedder()
        t0 = time.perf_counter()
        res = embed_texts(texts, cache_dir=f"{tmp}/cold", progress=False, embedder=emb)
        row("cold, model load included", time.perf_counter() - t0, f"{res.model_name} on {emb.device}")
        best = float("inf")
        for i in range(max(1, repeat)):
            t0 = time.perf_counter()
            embed_texts(texts, cache_dir=f"{tmp}/warm{i}", progress=False, embedder=emb)
            best = min(best, time.perf_counter() - t0)
        row("cold, model loaded", best, f"best of {repeat}, batch {emb.batch_size}, {emb.device}")
        best = float("inf")
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            hit = embed_texts(texts, cache_dir=f"{tmp}/cold", progress=False, embedder=TextEmbedder())
            best = min(best, time.perf_counter() - t0)
        assert hit.n_embedded == 0, "cache miss on the second pass"
        row("cache hit (load from disk)", best, f"best of {repeat}; model not loaded")
    return rows
