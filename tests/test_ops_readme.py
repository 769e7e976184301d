"""The README's Operations examples run as written (the demo's files and database in a temp dir)."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from test_e2e_postgres import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"
DEMO = "/tmp/ocpagg-demo"


def operations_commands() -> list[list[str]]:
    """The ``python -m ocpagg`` commands of the README's Operations section, continuation lines joined."""
    text = README.read_text()
    section = text.split("## Operations", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```\n(.*?)```", section, re.DOTALL):
        joined = block.replace("\\\n", " ")
        commands += [shlex.split(line) for line in joined.splitlines() if line.startswith("python -m ocpagg")]
    return commands


def test_operations_examples_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    demo = str(tmp_path / "demo")
    assert run_cli(["demo", "--keep", demo], env).returncode == 0
    commands = operations_commands()
    assert len(commands) == 3
    for command in commands:
        args = [a.replace(DEMO, demo) for a in command[3:]]
        proc = run_cli(args, env)
        assert proc.returncode == 0, (command, proc.stderr)
        if "--log-format" in args:
            entries = [json.loads(line) for line in proc.stderr.splitlines()]
            assert entries and all(
                e["schema"] == "org1234567" for e in entries if e["logger"] != "ocpagg.cli"
            )
    assert "ocpagg_runs_total" in (tmp_path / "demo" / "ocpagg.prom").read_text()
