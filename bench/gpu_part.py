"""Part (g) of ``python -m bench``: the world and LinTS on a CUDA GPU (issue 18 goal 8).

Where torch sees a CUDA device: the MovieLens world (the quickstart's config, backend torch on the
device) at B users, ``World.step`` alone (:func:`bench.world_part.world_rate`), and ``lin_ts``
(``mode='shared'``, backend torch on the device) act + update over a numpy world
(:func:`bench.world_part.agent_rate`, the world's step not counted).  Both hand numpy arrays back
every step (the world's StepResult, the agent's actions), so each step waits for the device's work
and the clock counts it.  Where there is no device, one row says so: "not measured: no CUDA device".
"""

from __future__ import annotations

import dataclasses

from bench.timing import load

PROBLEM = "(g) GPU, MovieLens world"


def cuda_device() -> str | None:
    """``'cuda'`` when torch is installed and sees a CUDA device, else None."""
    try:
        import torch
    except ImportError:
        return None
    return "cuda" if torch.cuda.is_available() else None


def measure_on(prep, sizes: list[int], budget: float, device: str, log=print) -> list[dict]:
    """World events/s and lin_ts decisions/s at each B, torch on ``device``."""
    from banditsim.envs.world import World
    from banditsim.sim.run.prepare import world_config
    from bench.world_part import agent_rate, world_rate

    cfg = dataclasses.replace(world_config(prep.config), backend="torch", device=device)
    rows = []
    for b in sizes:
        world = World(prep.item_vectors, prep.population, n_users=b, config=cfg, seed=0)
        rate, steps = world_rate(world, budget)
        rows.append({"problem": PROBLEM, "policy": "world.step alone", "impl": f"banditsim torch {device}", "B": b,
                     "events_per_s": rate, "steps": steps, "load": load(),
                     "note": "uniform random actions, the quickstart's world config"})
        log(f"  (g) B={b:<6} world alone on {device} {rate:14,.0f} events/s  (load {rows[-1]['load']:.2f})")
        del world
        params = {"mode": "shared", "backend": "torch", "device": device}
        rate, steps = agent_rate(prep, b, params, budget)
        rows.append({"problem": PROBLEM, "policy": "lin_ts shared (item embeddings)", "impl": f"banditsim torch {device}",
                     "B": b, "decisions_per_s": rate, "steps": steps, "params": params, "load": load(),
                     "note": "act+update only, over a numpy world on the CPU"})
        log(f"  (g) B={b:<6} lin_ts shared on {device} {rate:12,.0f} decisions/s  (load {rows[-1]['load']:.2f})")
    return rows


def run_gpu(sizes: list[int], budget: float, log=print) -> list[dict]:
    """Rows of part (g): the figures on the CUDA device, or one row saying none was measured."""
    device = cuda_device()
    if device is None:
        log("  (g) not measured: no CUDA device")
        return [{"problem": PROBLEM, "policy": "world and lin_ts", "impl": "banditsim", "load": load(),
                 "note": "not measured: no CUDA device"}]
    from bench.world_part import prepared

    return measure_on(prepared(), sizes, budget, device, log)
