"""Every FWA check, registered in :mod:`~auditor.engine.checks.registry` by importing its module.

``listening`` (FWA001–FWA004), ``firewall`` (FWA101–FWA106, FWA108), ``probe`` (FWA107),
``candidate`` (FWA201, ``verify`` only).
"""

from auditor.engine.checks import candidate, firewall, listening, probe  # noqa: F401 - registers the checks
from auditor.engine.checks.registry import CHECKS, Check, CheckInput, all_checks, run_checks, sort_findings

__all__ = ["CHECKS", "Check", "CheckInput", "all_checks", "run_checks", "sort_findings"]
