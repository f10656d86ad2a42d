"""A pre-imported banditsim that forks children on request, so kill tests pay no start-up.

``python tests/reliability/rel_forkserver.py`` imports the CLI, the runner, the agents,
torch and matplotlib once, then reads one JSON command per line on stdin:

* ``{"op": "start", "target": "banditsim.sim.cli:main", "args": [[...argv...]], "log": path}`` forks a
  child that calls ``target(*args)`` with stdout/stderr going to ``log`` (stderr to ``err``
  when given) and exits with its
  return value (an int, else 0); replies ``{"pid": ...}``. With ``"target": "banditsim.sim.cli:main"``
  the child is exactly ``banditsim <argv>`` in a process that already imported banditsim.
  With ``"session": true`` the child leads a new process group (``os.killpg`` then signals it
  and every worker it starts, as Ctrl-C in a terminal does).
* ``{"op": "wait", "pid": pid}`` reaps that child: ``{"exit": code, "signal": sig,
  "maxrss_kib": ru_maxrss}`` (``exit`` is None when a signal ended it).
* ``{"op": "rss"}``: this server's resident set now (KiB), the base every child starts from.

The test kills children with ``os.kill(pid, SIGKILL)``; the server only forks and reaps.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def _preload() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import numpy  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import torch

    torch.set_num_threads(1)
    import banditsim.agents.registry  # noqa: F401
    import banditsim.envs.embedding  # noqa: F401
    import banditsim.sim.cli
    import banditsim.sim.run.play
    import banditsim.sim.report.plots
    import banditsim.sim.run.runner  # noqa: F401


def _resolve(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _child(cmd: dict) -> None:
    code = 1
    try:
        if cmd.get("session"):  # its own process group, as a terminal's foreground job
            os.setsid()
        fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        if cmd.get("err"):  # stderr to its own file
            fd = os.open(cmd["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.close(fd)
        result = _resolve(cmd["target"])(*cmd.get("args", []))
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then exit non-zero
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    sys.path.insert(0, os.getcwd())
    _preload()
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "start":
            pid = os.fork()
            if pid == 0:
                _child(cmd)
            reply = {"pid": pid}
        elif cmd["op"] == "wait":
            _, status, usage = os.wait4(cmd["pid"], 0)
            reply = {"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                     "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                     "maxrss_kib": usage.ru_maxrss}
        elif cmd["op"] == "rss":
            reply = {"rss_kib": _rss_kib()}
        else:
            reply = {"error": f"unknown op {cmd['op']!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
