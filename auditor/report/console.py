"""One way to turn rich renderables into text: colour only on a terminal, plain otherwise."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable

from rich.console import Console, RenderableType


def render(items: Iterable[RenderableType], *, tty: bool | None = None, width: int | None = None) -> str:
    """Render to a string. ``tty`` defaults to whether stdout is a terminal; off a terminal
    there are no ANSI codes and lines are 200 columns wide (pipes, files, cron mail), not the
    terminal's. A table cell wider than its column must fold (``overflow="fold"``): rich's default
    cuts a long word with "…", which took the line number off a long ``file:line``.
    """
    if tty is None:
        tty = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=tty,
        no_color=not tty,
        color_system="auto" if tty else None,
        width=width or (None if tty else 200),
        highlight=False,
        markup=False,  # rule texts, paths and IPv6 addresses contain brackets: never markup
        soft_wrap=False,
    )
    for item in items:
        console.print(item)
    return buf.getvalue()
