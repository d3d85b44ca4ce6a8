"""A host as fwaudit saw it at one moment: collect once, reason many times.

Everything the audit's evaluation reads from a target — listeners with their processes, the
whole ruleset of every backend with its origins (handles, the kernel's hook listing), the host
facts the evaluator uses (interfaces and their addresses and bridges, routes, forwarding) and
the notes on what could not be read — so that an audit, an exposure query or a rules listing
from a snapshot file gives what it gave on the live host. ``taken_at`` is Unix time.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.host import HostContext
from auditor.model.listener import Listener
from auditor.model.ruleset import Ruleset

#: The snapshot format this fwaudit writes and reads (``fwaudit snapshot --output``).
SNAPSHOT_FORMAT = "fwaudit.snapshot/1"


@dataclass(frozen=True)
class HostSnapshot:
    """``ruleset`` and ``host`` are ``None`` when the firewall view was not read (not asked
    for, or unreadable: ``notes`` says why)."""

    target: str
    taken_at: float
    fwaudit_version: str
    listeners: tuple[Listener, ...]
    ruleset: Ruleset | None
    host: HostContext | None
    notes: tuple[str, ...] = ()
