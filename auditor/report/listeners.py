"""Renderers for ``fwaudit listeners``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from auditor.model.listener import Listener, Process
from auditor.untrusted import escape


def listener_json(l: Listener) -> dict[str, Any]:
    return {
        "protocol": l.protocol,
        "family": l.family,
        "address": l.address,
        "port": l.port,
        "interface": l.interface,
        "dual_stack": l.dual_stack,
        "processes": [{"pid": p.pid, "name": p.name, "user": p.user} for p in l.processes],
    }


def listeners_json(target: str, listeners: Sequence[Listener], *, indent: bool | None = None) -> str:
    """Indented on a terminal, compact otherwise. The compact form is assembled directly —
    20,000 sockets in ~30 ms instead of ~150 ms through intermediate dicts."""
    if indent is None:
        indent = sys.stdout.isatty()
    if indent:
        return json.dumps({"target": target, "listeners": [listener_json(l) for l in listeners]}, indent=2)
    enc = json.encoder.encode_basestring_ascii  # like json.dumps: nothing but ASCII on the wire
    proc_cache: dict[tuple[Process, ...], str] = {}
    parts = []
    for l in listeners:
        procs = proc_cache.get(l.processes)
        if procs is None:
            procs = proc_cache[l.processes] = ",".join(
                f'{{"pid":{p.pid},"name":{enc(p.name)},"user":{enc(p.user)}}}' for p in l.processes)
        iface = "null" if l.interface is None else enc(l.interface)
        parts.append(
            f'{{"protocol":"{l.protocol}","family":"{l.family}","address":"{l.address}","port":{l.port},'
            f'"interface":{iface},"dual_stack":{"true" if l.dual_stack else "false"},"processes":[{procs}]}}'
        )
    return f'{{"target":{enc(target)},"listeners":[{",".join(parts)}]}}'


def scope(l: Listener) -> str:
    if l.is_loopback:
        return "loopback"
    if l.dual_stack:
        return "any (IPv4+IPv6)"
    if l.is_wildcard:
        return "any"
    return "specific"


def listeners_text(target: str, listeners: Sequence[Listener]) -> str:
    # rich is imported here, not at module level: the JSON path (scripts, 20,000 sockets) does
    # not pay the ~50 ms it costs to import.
    from rich.table import Table
    from rich.text import Text

    from auditor.report.console import render

    if not listeners:
        return render([Text(f"{escape(target)}: no listening TCP or bound UDP sockets")])
    table = Table(title=f"Listening sockets on {escape(target)} ({len(listeners)})", title_justify="left")
    for col in ("Proto", "Address", "Port", "Scope", "Process (pid, user)"):
        table.add_column(col, overflow="fold")
    for l in listeners:
        addr = f"[{l.address}]" if l.family == "ipv6" else l.address
        if l.interface:
            addr += f"%{l.interface}"
        procs = ", ".join(f"{p.name} ({p.pid}, {p.user})" for p in l.processes) or "-"
        table.add_row(l.protocol, escape(addr), str(l.port), scope(l), escape(procs))
    return render([table])
