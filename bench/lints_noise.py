"""LinTS's noise scale on the sharp linear problem of part (s) (issue #18 goal 7).

``python -m bench.lints_noise``: cumulative regret over T = 2,000 steps of one stream, mean ± s.e.
over 5 streams, for LinUCB (α = 1), LinTS at its fixed default noise_std = 0.5, LinTS with
``noise_std='auto'`` (estimated online, agents/_linear/online_noise.py) and LinTS told the true noise 0.1.
"""
from __future__ import annotations

import numpy as np
from bench.single_stream import stream
from banditsim.agents import Context, Feedback, make_agent
def regret(name, seed, T=2000, **kw):
    """(cumulative regret, agent) of ``name`` on stream ``seed`` of the sharp problem."""
    x, mean, reward = stream("sharp", T, seed=seed)
    ag = make_agent(name, 20, random_state=seed, **kw); reg = 0.0
    best = mean.max(axis=1)
    for t in range(T):
        ctx = Context(features=x[t][None]); a = int(ag.act(ctx).actions[0])
        ag.update(ctx, np.array([a]), Feedback(reward=[reward[t, a]])); reg += best[t] - mean[t, a]
    return reg, ag
for label, name, kw in (("linucb", "linucb", {}), ("lin_ts 0.5", "lin_ts", {}), ("lin_ts auto", "lin_ts", {"noise_std": "auto"}), ("lin_ts true 0.1", "lin_ts", {"noise_std": 0.1})):
    out = [regret(name, s, **kw) for s in range(5)]
    r = np.array([o[0] for o in out])
    extra = f" sigma_hat {out[0][1].noise_scale()[0]:.3f}" if label == "lin_ts auto" else ""
    print(f"{label:16s} regret {r.mean():7.1f} ± {r.std(ddof=1)/np.sqrt(5):5.1f} (5 streams, T=2000){extra}", flush=True)
