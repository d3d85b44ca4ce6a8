"""Microsoft's SARIF Multitool and the SARIF 2.1.0 JSON schema it ships, installed by
``scripts/test-tools`` into .venv/npm: the independent judges of our SARIF output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL_DIR = ROOT / ".venv" / "npm" / "node_modules" / "@microsoft" / "sarif-multitool-linux"


def _tool_dir() -> Path:
    if not (TOOL_DIR / "Sarif.Multitool").exists():
        pytest.fail("the SARIF Multitool is not installed: run ./scripts/test-tools (./scripts/test does)")
    return TOOL_DIR


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """Violations of the official SARIF 2.1.0 JSON schema, as 'path: message' lines."""
    schema = json.loads((_tool_dir() / "sarif-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def multitool_errors(sarif_file: Path, workdir: Path) -> list[str]:
    """Errors and warnings of ``Sarif.Multitool validate`` (schema + the SDK's SARIF rules).

    One warning is left out: SARIF2005 'provide informationUri' — fwaudit has no public home
    page, and a placeholder address would be a false statement in every report."""
    out = workdir / "validation.sarif"
    env = {**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
    res = subprocess.run([str(_tool_dir() / "Sarif.Multitool"), "validate", str(sarif_file), "-o", str(out),
                          "--log", "ForceOverwrite"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    run = json.loads(out.read_text())["runs"][0]
    return [f"{r['ruleId']} {r.get('message', {}).get('arguments')}" for r in run.get("results", [])
            if r.get("level", "warning") in ("error", "warning")
            and r.get("message", {}).get("id") != "Warning_ProvideToolnformationUri"]
