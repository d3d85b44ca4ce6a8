"""Collect a :class:`~auditor.model.snapshot.HostSnapshot` of the namespace this runs in.

The caller enters the target first (``Target.call``). The firewall view is optional — a
namespace whose rules cannot be read still yields its listeners, and the snapshot's notes say
why the firewall view is missing or may be incomplete.
"""

from __future__ import annotations

import time

from auditor import __version__
from auditor.collect.host import collect_host
from auditor.collect.ruleset import collect_ruleset, incomplete_backends
from auditor.collect.sockets import collect_listeners
from auditor.errors import EnvironmentProblem
from auditor.model.snapshot import HostSnapshot


def collect_snapshot(target: str, *, firewall: bool = True) -> HostSnapshot:
    """Listeners, and unless ``firewall`` is false the ruleset and host facts, of this
    namespace, labelled ``target``."""
    taken_at = time.time()
    listeners = collect_listeners()
    if not firewall:
        return HostSnapshot(target, taken_at, __version__, listeners, None, None, ("firewall view not requested",))
    try:
        ruleset, host = collect_ruleset(), collect_host()
    except EnvironmentProblem as e:
        return HostSnapshot(target, taken_at, __version__, listeners, None, None,
                            (f"firewall view unavailable: {e.message}",))
    notes = tuple(f"firewall view may be incomplete: {n}" for n in incomplete_backends(ruleset))
    return HostSnapshot(target, taken_at, __version__, listeners, ruleset, host, notes)
