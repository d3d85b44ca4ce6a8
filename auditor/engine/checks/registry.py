"""The checks registry: every FWA check is one function, registered with its id, title, default
severity and documentation.

A check reads a :class:`CheckInput` — the policy and whichever views the run has — and yields
findings (what is wrong) and :class:`~auditor.model.finding.CheckOutcome` records (what it
verified, passed or not). It declares what it ``needs``: checks of a view the run does not have
are not run (an audit with ``--no-firewall`` runs no firewall check), and the ``scopes`` it
belongs to (an ``audit`` of a host, a ``verify`` of candidate ruleset files). The first
paragraph of a check's docstring is its one-line description (``fwaudit checks``, the README's
findings table); the rest says how it decides. Adding a check touches one module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from auditor.model.finding import CheckInfo, CheckOutcome, Finding, Severity
from auditor.model.listener import Listener
from auditor.model.policy import Policy
from auditor.model.result import ZoneExposure
from auditor.model.scan import Comparison

Scope = Literal["audit", "verify"]
Need = Literal["listening", "firewall", "probe"]


@dataclass(frozen=True)
class CheckInput:
    """What checks look at: the policy, the sockets, the firewall view per zone (``None``: no
    firewall view), and probe results beside the model's verdicts, per zone."""

    policy: Policy
    listeners: tuple[Listener, ...] = ()
    views: tuple[ZoneExposure, ...] | None = None
    comparisons: tuple[tuple[str | None, tuple[Comparison, ...]], ...] = ()


CheckFunction = Callable[[CheckInput], Iterable[Finding | CheckOutcome]]


@dataclass(frozen=True)
class Check:
    """A registered check: what users see of it, and the function that runs it."""

    info: CheckInfo
    needs: Need
    scopes: frozenset[Scope]
    run: CheckFunction


#: Every check by id, in registration order (see :func:`all_checks` for the sorted list).
CHECKS: dict[str, Check] = {}


def check(id: str, title: str, severity: Severity, *, also: tuple[Severity, ...] = (), needs: Need,
          scopes: tuple[Scope, ...] = ("audit",)) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as check ``id``."""

    def register(fn: CheckFunction) -> CheckFunction:
        if id in CHECKS:
            raise ValueError(f"check {id} registered twice")
        doc = inspect.cleandoc(fn.__doc__ or "")
        summary = " ".join(doc.split("\n\n", 1)[0].split())
        if not summary:
            raise ValueError(f"check {id} has no docstring")
        info = CheckInfo(id, title, severity, also, tuple(scopes), needs, summary, doc)
        CHECKS[id] = Check(info, needs, frozenset(scopes), fn)
        return fn

    return register


def all_checks() -> tuple[Check, ...]:
    """Every registered check, by id."""
    return tuple(CHECKS[i] for i in sorted(CHECKS))


def run_checks(scope: Scope, data: CheckInput) -> tuple[tuple[Finding, ...], tuple[CheckOutcome, ...]]:
    """Run every check of ``scope`` whose view ``data`` has: findings worst first (then by
    check and id), outcomes in check order."""
    available: set[Need] = {"listening"}
    if data.views is not None:
        available.add("firewall")
    if data.comparisons:
        available.add("probe")
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    for c in all_checks():
        if scope not in c.scopes or c.needs not in available:
            continue
        for item in c.run(data):
            if isinstance(item, Finding):
                findings.append(item)
            else:
                outcomes.append(item)
    return sort_findings(findings), tuple(outcomes)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (-int(f.severity), f.check, f.id)))
