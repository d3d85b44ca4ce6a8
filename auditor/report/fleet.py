"""The fleet report formats by name (``fleet report --format``), each imported only when used."""

from __future__ import annotations

from importlib import import_module

from auditor.model.fleet import Fleet

#: format name -> (module, function)
RENDERERS = {
    "text": ("auditor.report.fleet_text", "render_fleet_text"),
    "json": ("auditor.report.fleet_json", "render_fleet_json"),
    "html": ("auditor.report.html", "render_fleet_html"),
    "junit": ("auditor.report.fleet_machine", "render_fleet_junit"),
    "prometheus": ("auditor.report.fleet_machine", "render_fleet_prometheus"),
}


def render_fleet(fleet: Fleet, fmt: str) -> str:
    module, function = RENDERERS[fmt]
    text: str = getattr(import_module(module), function)(fleet)
    return text
