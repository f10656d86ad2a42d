"""The ``banditsim`` CLI: embedding command and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from banditsim.sim.cli import main


def test_embed_command_reports_neighbours(capsys):
    assert main(["embed"]) == 0
    out = capsys.readouterr().out
    assert "1,682 items" in out and "384 dims" in out and "nearest neighbours" in out


def test_embed_own_csv(tmp_path, capsys):
    p = tmp_path / "items.csv"
    p.write_text("sku,name,tags\n1,Trail running shoes,sport|outdoor\n2,Espresso machine,kitchen\n"
                 "3,Hiking boots,outdoor\n")
    assert main(["embed", "--catalog", str(p), "--id-column", "sku", "--text-columns", "name,tags"]) == 0
    assert "3 items" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_embed_backend_option(backend, tmp_path, capsys):
    p = tmp_path / "items.csv"
    p.write_text("sku,name\n1,Trail running shoes\n2,Espresso machine\n3,Hiking boots\n")
    assert main(["embed", "--catalog", str(p), "--id-column", "sku", "--text-columns", "name",
                 "--backend", backend, "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "3 distinct texts run through the model" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["embed", "--catalog", "/no/such/file.csv"], "catalog file not found"),
    (["embed", "--backend", "jax"], "unknown embedding backend 'jax'"),
    (["embed", "--text-columns", ","], "--text-columns is empty"),
    (["embed", "--embedding-model", "/no/such/model"], "embedding model folder not found"),
    (["nosuchcommand"], "No such command"),
    (["run", "--nosuchoption"], "No such option"),
])
def test_bad_cli_input_is_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err
    assert "\n" not in err and "Traceback" not in err


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "banditsim.sim.cli", "embed", "--catalog", str(tmp_path / "x.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: catalog file not found")
    assert "Traceback" not in proc.stderr
