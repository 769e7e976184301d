"""Realistic test data: koku-nise static reports converted to koku's Parquet layout.

``make_nise_root(tmp_dir, "month_end.yaml")`` runs nise on one of the YAMLs in
``tests/nise/`` and converts its CSVs with :func:`ocpagg.convert.convert`. nise has
no seed option, so it runs in a child Python that seeds ``random`` and Faker and
replaces nise's ``uuid4`` with a seeded one before calling nise's ``main``: the
same YAML always gives the same CSVs (the test suite checks this). Results are
cached per process (per YAML, schema and source), so a session runs nise once
per YAML; the ``nise_root_factory`` fixture wraps this for pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import yaml
from ocpagg.convert import ConvertedFile, ConvertResult, convert

NISE_DIR = Path(__file__).parent / "nise"
NISE_YAMLS = tuple(sorted(p.name for p in NISE_DIR.glob("*.yaml")))
DEFAULT_SOURCE_UUID = "6f0c4a1e-2b7d-4f3a-9c85-1d2e3f4a5b6c"
NISE_SEED = 20270130

_RUNNER = textwrap.dedent(
    """
    import random, sys, uuid
    import faker
    import nise.__main__ as nise_main
    import nise.generators.ocp.ocp_generator as ocp_generator
    import nise.report as nise_report

    seed = int(sys.argv[1])
    random.seed(seed)
    faker.Faker.seed(seed)
    rng = random.Random(seed)

    def seeded_uuid4():
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    uuid.uuid4 = seeded_uuid4
    ocp_generator.uuid4 = seeded_uuid4
    nise_report.uuid4 = seeded_uuid4
    sys.argv = ["nise", *sys.argv[2:]]
    nise_main.main()
    """
)

_ROLE = re.compile(r"(?:^|\|)label_node_role_kubernetes_io_(master|infra|worker):")


@dataclass(frozen=True)
class NiseRoot:
    """A koku Parquet root holding one converted nise static report."""

    root: Path
    account: str
    source_uuid: str
    start_date: date
    end_date: date  # inclusive: the last day with pod rows
    yaml_name: str = ""
    cluster_id: str = ""
    csv_dir: Path | None = None
    node_roles: tuple[tuple[str, str, str], ...] = ()  # (node, resource_id, role) from the node labels
    days: tuple[date, ...] = field(default=())
    files: tuple[ConvertedFile, ...] = field(default=())  # what each nise CSV became


def run_nise(
    yaml_path: Path,
    out_dir: Path,
    *,
    cluster_id: str,
    seed: int = NISE_SEED,
    insights_upload: Path | None = None,
) -> list[Path]:
    """Run seeded nise on a static-report YAML; returns the CSV files it wrote into ``out_dir``.

    With ``insights_upload`` nise also writes its operator payloads there, extracted as koku's
    local ingest expects (``{cluster}/{YYYYMMDD-YYYYMMDD}/manifest.json`` and the CSVs).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-c",
        _RUNNER,
        str(seed),
        "report",
        "ocp",
        "--static-report-file",
        str(yaml_path),
        "--ocp-cluster-id",
        cluster_id,
        "--write-monthly",
    ]
    if insights_upload is not None:
        insights_upload.mkdir(parents=True, exist_ok=True)
        cmd += ["--insights-upload", str(insights_upload)]
    proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"nise failed on {yaml_path.name}: {proc.stderr[-2000:]}")
    return sorted(out_dir.glob("*.csv"))


def node_roles_from_yaml(yaml_path: Path) -> tuple[tuple[str, str, str], ...]:
    """(node, resource_id, role) for every YAML node whose labels mark master, infra or worker.

    A node marked both master and infra gets ``master`` (koku takes max(node_role)).
    """
    data = yaml.safe_load(yaml_path.read_text())
    roles = []
    for generator in data["generators"]:
        for attrs in generator.values():
            for node in attrs.get("nodes") or []:
                found = _ROLE.findall(node.get("node_labels") or "")
                if found:
                    roles.append((node["node_name"], f"i-{node['resource_id']}", max(found)))
    return tuple(roles)


_CACHE: dict[tuple[str, str, str], NiseRoot] = {}


def make_nise_root(
    tmp_dir: Path,
    yaml_name: str,
    *,
    schema: str = "org1234567",
    source_uuid: str = DEFAULT_SOURCE_UUID,
) -> NiseRoot:
    """nise output for ``tests/nise/{yaml_name}`` converted to koku's layout under ``tmp_dir``.

    Cached per (yaml, schema, source) for the life of the process; a cached root stays
    where it was first made.
    """
    key = (yaml_name, schema, str(source_uuid))
    if key in _CACHE:
        return _CACHE[key]
    yaml_path = NISE_DIR / yaml_name
    stem = Path(yaml_name).stem
    base = Path(tmp_dir) / f"nise-{stem}-{schema}-{str(source_uuid)[:8]}"
    cluster_id = f"nise-{stem}"
    csvs = run_nise(yaml_path, base / "csv", cluster_id=cluster_id)
    result: ConvertResult = convert(csvs, base / "root", schema=schema, source_uuid=str(source_uuid))
    days = result.days("pod_usage")
    if not days:
        raise RuntimeError(f"nise wrote no pod rows for {yaml_name}")
    made = NiseRoot(
        root=base / "root",
        account=result.account,
        source_uuid=str(source_uuid),
        start_date=days[0],
        end_date=days[-1],
        yaml_name=yaml_name,
        cluster_id=cluster_id,
        csv_dir=base / "csv",
        node_roles=node_roles_from_yaml(yaml_path),
        days=tuple(days),
        files=tuple(result.files),
    )
    _CACHE[key] = made
    return made


@pytest.fixture(scope="session")
def nise_root_factory(tmp_path_factory: pytest.TempPathFactory):
    """``factory(yaml_name, **kwargs) -> NiseRoot``, cached for the session."""
    base = tmp_path_factory.mktemp("nise")

    def factory(yaml_name: str, **kwargs) -> NiseRoot:
        return make_nise_root(base, yaml_name, **kwargs)

    return factory
