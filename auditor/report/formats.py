"""Every renderer by what it renders and the format's name (``--format``), each module imported
only when used: ``fwaudit listeners --format json`` on 20,000 sockets does not pay for rich.

``render("audit", "sarif", result)`` is how the CLI reaches a renderer; the format names a
command accepts are the keys of its entry here.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: kind -> format -> (module, function)
RENDERERS: dict[str, dict[str, tuple[str, str]]] = {
    "audit": {
        "text": ("auditor.report.audit_text", "render_audit_text"),
        "json": ("auditor.report.audit_json", "render_audit_json"),
        "junit": ("auditor.report.junit", "render_junit"),
        "sarif": ("auditor.report.sarif", "render_sarif"),
        "prometheus": ("auditor.report.prometheus", "render_prometheus"),
        "html": ("auditor.report.html", "render_audit_html"),
    },
    "fleet": {
        "text": ("auditor.report.fleet_text", "render_fleet_text"),
        "json": ("auditor.report.fleet_json", "render_fleet_json"),
        "html": ("auditor.report.html", "render_fleet_html"),
        "junit": ("auditor.report.fleet_machine", "render_fleet_junit"),
        "prometheus": ("auditor.report.fleet_machine", "render_fleet_prometheus"),
    },
    "listeners": {
        "text": ("auditor.report.listeners", "listeners_text"),
        "json": ("auditor.report.listeners", "listeners_json"),
    },
    "exposure": {
        "text": ("auditor.report.exposure", "exposure_text"),
        "json": ("auditor.report.exposure", "exposure_json"),
    },
    "rules": {
        "text": ("auditor.report.rules", "rules_text"),
        "json": ("auditor.report.rules", "rules_json"),
    },
    "scan": {
        "text": ("auditor.report.scan", "scan_text"),
        "json": ("auditor.report.scan", "scan_json"),
    },
    "checks": {
        "text": ("auditor.report.checks", "checks_text"),
        "json": ("auditor.report.checks", "checks_json"),
    },
}
#: ``verify`` writes the audit formats that make sense for files under review.
VERIFY_FORMATS = ("text", "json", "junit", "sarif")


def formats(kind: str) -> tuple[str, ...]:
    return tuple(RENDERERS[kind])


def render(kind: str, fmt: str, *args: Any) -> str:
    """The ``fmt`` rendering of ``args`` (what the ``kind`` renderers take)."""
    module, function = RENDERERS[kind][fmt]
    text: str = getattr(import_module(module), function)(*args)
    return text
