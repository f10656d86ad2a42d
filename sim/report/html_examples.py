"""The "Example users" section of a run's ``report.html``: a few people's sessions as they unfold,
each recommendation with the agent's score split and the most similar item the person liked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from banditsim.sim.report.html_page import esc, number, section, table

EXAMPLE_AGENTS, EXAMPLE_USERS, EXAMPLE_STEPS = 4, 2, 6


def examples_section(out_dir: Path, cfg: dict) -> str:
    """A few users' sessions as they unfold, each recommendation with its explanation."""
    import pyarrow.parquet as pq

    from banditsim.sim.report.explanations import describe_split

    log_path = out_dir / "log.parquet"
    if not log_path.is_file():
        return section("examples", "Example users", "<p>No interaction log in this folder (log.enabled: false).</p>")
    names_in_log = pq.read_schema(log_path).names
    person = next((c for c in ("person_id", "user_id") if c in names_in_log), None)  # user_id: early logs
    if "why_exploit" not in names_in_log or person is None:
        return section("examples", "Example users", "<p>This log was written without explanations.</p>")
    cols = ["agent", "seed", "step", person, "action", "item_id", "position", "feedback_kind", "reward",
            "why_exploit", "why_explore", "why_random", "because_action", "because_cosine"]
    table_ = pq.read_table(log_path, columns=cols, filters=[("seed", "=", 0)])
    log = {c: table_.column(c).to_numpy(zero_copy_only=False) for c in cols}
    log["person_id"] = log.pop(person)
    names = {a.get("label", a.get("name")): a.get("name") for a in cfg.get("agents", [])}
    titles = _titles(out_dir)
    ids = dict(zip(log["action"].tolist(), log["item_id"].tolist()))
    chosen = _example_agents(log)
    parts = []
    for user in _example_users(log, chosen[:1]):
        for agent in chosen:
            rows = np.flatnonzero((log["agent"] == agent) & (log["person_id"] == user))
            if rows.size == 0:  # this person's session under another agent ended before the log did
                continue
            rows = rows[np.lexsort((log["position"][rows], log["step"][rows]))]
            steps = np.unique(log["step"][rows])[:EXAMPLE_STEPS]
            body = []
            for i in rows[np.isin(log["step"][rows], steps)]:
                liked = int(log["because_action"][i])
                because = "no other liked item yet" if liked < 0 else (
                    f"because you liked {titles.get(ids.get(liked), '#%d' % liked)} "
                    f"(cosine {log['because_cosine'][i]:.2f})")
                body.append([int(log["step"][i]), titles.get(log["item_id"][i], log["item_id"][i]),
                             log["feedback_kind"][i], number(log["reward"][i], 2),
                             describe_split(names.get(agent, ""), float(log["why_exploit"][i]),
                                            float(log["why_explore"][i]), int(log["why_random"][i])),
                             because])
            parts.append(f"<h3>user {int(user)} · {esc(agent)} (seed 0)</h3>"
                         + table(["step", "recommended", "answer", "reward", "score split", "why (similar liked item)"],
                                 body, text_columns=(1, 4, 5)))
    intro = ("Each row is one recommendation as the session unfolds: the user's answer, the agent's score "
             "split into exploitation and exploration, and the most similar item this user liked before "
             "(cosine of the two items' embeddings). The same people are shown under each agent: seed 0 is "
             "the same world for every agent.")
    return section("examples", "Example users", "".join(parts) or "<p>The log holds no rows of seed 0.</p>", intro)


def _titles(out_dir: Path) -> dict:
    """item id → title, from items.parquet (every item shown in the run)."""
    from banditsim.sim.report.plots import read_columns

    path = out_dir / "items.parquet"
    if not path.is_file():
        return {}
    items = read_columns(path)
    return dict(zip(items["item_id"].tolist(), items["title"].tolist()))


def _example_agents(log: dict) -> list[str]:
    """Up to EXAMPLE_AGENTS agents, those with a score split first (in the log's order)."""
    agents = list(dict.fromkeys(log["agent"].tolist()))
    explained = {a: bool(np.isfinite(log["why_exploit"][log["agent"] == a]).any()
                         or (log["why_random"][log["agent"] == a] >= 0).any()) for a in agents}
    return sorted(agents, key=lambda a: not explained[a])[:EXAMPLE_AGENTS]


def _example_users(log: dict, agents: list[str]) -> list[int]:
    """The EXAMPLE_USERS people with the most logged steps under the first agent (lowest id on ties)."""
    if not agents:
        return []
    rows = log["agent"] == agents[0]
    pairs = np.unique(np.stack([log["person_id"][rows], log["step"][rows]]), axis=1)
    users, counts = np.unique(pairs[0], return_counts=True)
    order = np.lexsort((users, -counts))
    return [int(u) for u in users[order][:EXAMPLE_USERS]]
