"""Writing reports: atomically, so a killed run never leaves a half-written file behind.

cron jobs and node_exporter's textfile collector read these files at any moment; a temp file
in the same directory plus ``os.replace`` makes the switch atomic.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.errors import InputError


def write_atomic(path: Path | str, text: str) -> None:
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {p}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
