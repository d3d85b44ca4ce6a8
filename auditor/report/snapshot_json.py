"""A :class:`~auditor.model.snapshot.HostSnapshot` as the JSON file ``fwaudit snapshot`` writes
(read back by :mod:`auditor.collect.snapshot_json`): ``{"format": "fwaudit.snapshot/1", …}``
and the snapshot's fields as :mod:`auditor.model.codec` encodes them. ASCII only (strings from
the host are ``\\u``-escaped), compact: about 0.5 KB a rule."""

from __future__ import annotations

import json

from auditor.model import codec
from auditor.model.snapshot import SNAPSHOT_FORMAT, HostSnapshot


def render_snapshot(snapshot: HostSnapshot) -> str:
    return json.dumps({"format": SNAPSHOT_FORMAT, **codec.encode(snapshot)}, separators=(",", ":")) + "\n"
