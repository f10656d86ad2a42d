"""The JSON documents of a results folder, read with one clear error when one is missing or broken."""

from __future__ import annotations

import json
from pathlib import Path

from banditsim.envs.errors import BanditsimError


def read_json(path: Path) -> dict:
    """The JSON document at ``path``, or one error saying it is unreadable and how to remake it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BanditsimError(f"{path} is unreadable ({type(exc).__name__}); rerun the command that wrote it") from None


def run_documents(out_dir: Path) -> tuple[dict, dict, dict]:
    """``(manifest, summary's agents, config)`` of a run folder, or one error naming the broken file."""
    for name in ("manifest.json", "summary.json"):
        if not (out_dir / name).is_file():
            raise BanditsimError(f"{out_dir} is not a finished results directory: no {name}")
    manifest, summary = read_json(out_dir / "manifest.json"), read_json(out_dir / "summary.json")
    agents = summary.get("agents") if isinstance(summary, dict) else None
    if not isinstance(agents, dict) or not all(isinstance(f, dict) for f in agents.values()):
        raise BanditsimError(f"{out_dir / 'summary.json'} is not a banditsim summary (no agents object of figures); "
                             "rerun banditsim run")
    cfg = manifest.get("config") if isinstance(manifest, dict) else None
    if not isinstance(cfg, dict):
        raise BanditsimError(f"{out_dir / 'manifest.json'} is not a banditsim manifest (no config object)")
    return manifest, agents, cfg
