"""RL clients next to the bandit agents on one world: ``python -m bench.rl_clients``.

Every method gets ``--steps`` environment steps on ``banditsim/Recommend-v0`` to learn from, then
plays the same ``--episodes`` evaluation sessions (what is compared, and how: :mod:`sim.rl_compare`).
Reported per method: mean session reward (± s.e.), mean exact regret per session and per step
(``info["regret"]``), share of disallowed picks (plain PPO only can make them: each earns the
``block`` penalty and changes nothing), and seconds.

``--world small`` (default) is a 60-item clustered world; ``--world movielens`` the default
MovieLens world (1682 items; minutes).
"""

from __future__ import annotations

import argparse

from banditsim.sim.studies.rl_compare import METHODS, compare, markdown_table, small_world


def main(argv=None) -> None:
    """Print the comparison table (markdown)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", choices=["small", "movielens"], default="small")
    p.add_argument("--steps", type=int, default=4096)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {', '.join(METHODS)}")
    args = p.parse_args(argv)
    if args.steps < 1 or args.episodes < 2:
        p.error(f"--steps must be >= 1 and --episodes >= 2, got {args.steps} and {args.episodes}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        p.error(f"unknown method(s): {', '.join(unknown)}" if unknown else "--methods names no method")
    import torch

    torch.set_num_threads(1)
    kw = small_world() if args.world == "small" else {"max_steps": 20}
    rows = compare(methods, kw, args.steps, args.episodes, args.seed)
    print(f"world={args.world} steps={args.steps} episodes={args.episodes} seed={args.seed} (max_steps=20)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
