"""Evidence as plain JSON data: the ``evidence`` object of a finding in every report format.

Each kind of :mod:`~auditor.model.evidence` has its own shape (documented by example in the
README's JSON report); rules are written as ``{backend, table, chain, position, text}`` plus
``file``/``line`` for ruleset files. Evidence read back from another host's document is shown
as it was written.
"""

from __future__ import annotations

from typing import Any

from auditor.model.evidence import (
    BindEvidence,
    BlockedEvidence,
    CandidateEvidence,
    DisagreementEvidence,
    DocumentEvidence,
    Evidence,
    ExposureEvidence,
    FamilyMismatchEvidence,
    ImplicitRuleEvidence,
    IndeterminateEvidence,
    LatentHoleEvidence,
    ListenerEvidence,
    ServiceDownEvidence,
    WrongProcessEvidence,
)
from auditor.model.listener import Listener
from auditor.model.ruleset import Origin


def rule_json(o: Origin) -> dict[str, Any]:
    d: dict[str, Any] = {"backend": o.backend, "table": o.table_label, "chain": o.chain, "position": o.position,
                         "text": o.text}
    if o.file:
        d["file"], d["line"] = o.file, o.line
    return d


def _rules(origins: tuple[Origin, ...]) -> list[dict[str, Any]]:
    return [rule_json(o) for o in origins]


def _processes(l: Listener) -> list[dict[str, Any]]:
    return [{"pid": p.pid, "name": p.name, "user": p.user} for p in l.processes]


def _socket(l: Listener) -> dict[str, Any]:
    return {"family": l.family, "address": l.address, "port": l.port, "dual_stack": l.dual_stack,
            "interface": l.interface, "processes": _processes(l)}


def _sockets(ls: tuple[Listener, ...]) -> list[dict[str, Any]]:
    return [_socket(l) for l in ls]


def evidence_json(e: Evidence | None) -> dict[str, Any]:
    """The JSON object of one finding's evidence."""
    match e:
        case None:
            return {}
        case DocumentEvidence():
            return dict(e.data)
        case ListenerEvidence():
            return {"listeners": _sockets(e.listeners)}
        case ServiceDownEvidence():
            return {"policy_line": e.policy_line}
        case WrongProcessEvidence():
            return {"listeners": _sockets(e.listeners), "expected": list(e.expected), "policy_line": e.policy_line}
        case BindEvidence():
            return {"listeners": _sockets(e.listeners), "declared_bind": e.declared_bind, "policy_line": e.policy_line}
        case ExposureEvidence():
            return {"sources": list(e.sources), "rules": _rules(e.rules),
                    "listeners": [{"protocol": l.protocol, "family": l.family, "address": l.address, "port": l.port,
                                   "processes": _processes(l)} for l in e.listeners]}
        case BlockedEvidence():
            d: dict[str, Any] = {"rules": _rules(e.rules), "policy_line": e.policy_line}
            if e.failed_legs:
                d["failed_legs"] = {leg: _rules(rules) for leg, rules in e.failed_legs}
                d["reasons"] = list(e.reasons)
            return d
        case LatentHoleEvidence():
            return {"ports": [list(r) for r in e.ports], "rules": _rules(e.rules)}
        case ImplicitRuleEvidence():
            return {"decided_by": _rules(e.decided_by), "verdicts": list(e.verdicts), "zones": list(e.zones),
                    "sources": list(e.sources)}
        case FamilyMismatchEvidence():
            return {"ipv6_rules": _rules(e.ipv6_rules), "ipv4_rules": _rules(e.ipv4_rules)}
        case DisagreementEvidence():
            return {"probe": e.probe, "verdict": e.verdict, "source": e.source, "path": e.path,
                    "translated_to": list(e.translated_to) if e.translated_to is not None else None}
        case IndeterminateEvidence():
            return {"rules": _rules(e.rules), "reason": e.reason, "sources": list(e.sources)}
        case CandidateEvidence():
            return {"sources": list(e.sources),
                    "rules": [{"file": o.file, "line": o.line, "text": o.text} for o in e.rules]}


def policy_line(e: Evidence | None) -> int | None:
    """The policy file line a finding's evidence names, if any (where SARIF points without a
    deciding rule of a ruleset file)."""
    match e:
        case ServiceDownEvidence() | WrongProcessEvidence() | BindEvidence() | BlockedEvidence():
            return e.policy_line
        case DocumentEvidence():
            line = e.data.get("policy_line")
            return line if isinstance(line, int) and not isinstance(line, bool) else None
    return None
