"""Prometheus textfile-collector format (node_exporter ``--collector.textfile``): findings by
severity, per-port exposure gauges for listening ports, audit timestamp and duration."""

from __future__ import annotations

from auditor.model.finding import Severity
from auditor.model.result import AuditResult
from auditor.untrusted import escape


def _esc(v: str) -> str:
    """A label value: untrusted control characters shown as escapes, then the format's own."""
    return escape(v).replace("\\", "\\\\").replace('"', '\\"')


def _labels(**kv: object) -> str:
    return "{" + ",".join(f'{k}="{_esc(str(v))}"' for k, v in kv.items()) + "}"


def render_prometheus(result: AuditResult) -> str:
    t = result.target
    lines = [
        "# HELP fwaudit_findings Findings of the last audit, by severity.",
        "# TYPE fwaudit_findings gauge",
    ]
    for sev in Severity:
        n = sum(1 for f in result.findings if f.severity == sev)
        lines.append(f"fwaudit_findings{_labels(target=t, severity=str(sev))} {n}")
    lines += [
        "# HELP fwaudit_listeners Listening sockets seen by the last audit.",
        "# TYPE fwaudit_listeners gauge",
        f"fwaudit_listeners{_labels(target=t)} {len(result.listening)}",
        "# HELP fwaudit_port_reachable 1 if the firewall admits new connections to a listening port from the zone.",
        "# TYPE fwaudit_port_reachable gauge",
    ]
    seen: dict[tuple[str, str, int], int] = {}
    ports = {(l.protocol, l.port) for l in result.listening if not l.is_loopback}
    for zx in result.firewall:
        for e in zx.exposure.entries:
            for proto, port in ports:
                if e.protocol == proto and e.ports[0] <= port <= e.ports[1]:
                    key = (zx.zone, proto, port)
                    seen[key] = max(seen.get(key, 0), 1 if e.verdict == "accept" else 0)
    for (zone, proto, port), v in sorted(seen.items()):
        lines.append(f"fwaudit_port_reachable{_labels(target=t, zone=zone, protocol=proto, port=port)} {v}")
    lines += [
        "# HELP fwaudit_audit_timestamp_seconds When the last audit started (Unix time).",
        "# TYPE fwaudit_audit_timestamp_seconds gauge",
        f"fwaudit_audit_timestamp_seconds{_labels(target=t)} {result.started_at:.3f}",
        "# HELP fwaudit_audit_duration_seconds How long the last audit took.",
        "# TYPE fwaudit_audit_duration_seconds gauge",
        f"fwaudit_audit_duration_seconds{_labels(target=t)} {result.duration:.3f}",
    ]
    return "\n".join(lines) + "\n"
