"""The README's Python quickstart runs as printed and gives the figure the README quotes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart() -> tuple[str, str]:
    """(code block, the figure the README says it prints) of the README's Python quickstart."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = re.search(r"It prints `cumulative regret after 500 steps: ([0-9.]+)`", section).group(1)
    return code, printed


def test_readme_python_quickstart_runs_and_prints_the_quoted_regret(tmp_path):
    code, printed = _quickstart()
    assert "gym.register_envs(banditsim)" in code and 'info["regret"]' in code
    proc = subprocess.run([sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + code],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == f"cumulative regret after 500 steps: {printed}", proc.stdout
