"""The wheel as users get it: built from the checkout, installed into a fresh virtualenv, and run
from there — not from the source tree — with its schemas and assets, against the demo lab."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import RUN_ID

ROOT = Path(__file__).resolve().parents[1]
PREFIX = f"fwa-t{RUN_ID}-whl-"
DATA = {"auditor/report/schemas/audit-1.schema.json", "auditor/report/schemas/fleet-1.schema.json",
        "auditor/report/assets/report.css", "auditor/report/assets/report.js", "auditor/py.typed"}


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the virtualenv's bin directory, a working directory outside the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)], work)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (work / "dist").glob("fwaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert DATA <= names, DATA - names
    assert not any(n.startswith(("tests/", "integration/", "benchmarks/")) for n in names)
    made = run([sys.executable, "-m", "venv", str(work / "venv")], work)
    assert made.returncode == 0, made.stderr
    pip = run([str(work / "venv/bin/pip"), "install", "-q", str(wheel)], work, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    shutil.copy(ROOT / "policies" / "demo.yaml", work / "demo.yaml")
    return work / "venv" / "bin", work


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    bin_dir, work = installed
    where = run([str(bin_dir / "python"), "-c", "import auditor; print(auditor.__file__)"], work)
    assert where.stdout.startswith(str(bin_dir.parent)), where.stdout
    res = run([str(bin_dir / "fwaudit"), "checks", "--format", "json"], work)
    assert res.returncode == 0 and len(json.loads(res.stdout)["checks"]) >= 12


@pytest.mark.root
def test_the_installed_fwaudit_audits_the_demo_lab(installed):
    bin_dir, work = installed
    fwaudit = str(bin_dir / "fwaudit")
    up = run([fwaudit, "lab", "up", "--prefix", PREFIX], work)
    try:
        assert up.returncode == 0, up.stderr
        target = f"netns:{PREFIX}host"
        audit = run([fwaudit, "audit", "--policy", "demo.yaml", "--target", target, "--format", "json",
                     "--output", "host.json"], work)
        assert audit.returncode == 1, audit.stderr  # the lab's seeded flaws
        assert "FWA101:internet:tcp/5432" in {f["id"] for f in json.loads((work / "host.json").read_text())["findings"]}
        html = run([fwaudit, "audit", "--policy", "demo.yaml", "--target", target, "--format", "html",
                    "--output", "host.html"], work)
        assert html.returncode == 1 and "Content-Security-Policy" in (work / "host.html").read_text()  # the assets
        fleet = run([fwaudit, "fleet", "report", "host.json", "--format", "json"], work)  # validated: the schema
        assert fleet.returncode == 1 and json.loads(fleet.stdout)["summary"]["audited"] == 1, fleet.stderr
        snap = run([fwaudit, "snapshot", "--target", target, "--output", "host.snapshot.json"], work)
        offline = run([fwaudit, "audit", "--policy", "demo.yaml", "--snapshot", "host.snapshot.json", "--quiet"], work)
        assert snap.returncode == 0 and offline.returncode == 1, (snap.stderr, offline.stderr)
    finally:
        down = run([fwaudit, "lab", "down", "--prefix", PREFIX], work)
    assert down.returncode == 0 and down.stdout.startswith("lab down: removed"), down.stderr
