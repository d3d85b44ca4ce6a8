"""Stop signals become :class:`Terminated` where fwaudit's code can unwind — also when they
land in library code that would catch and only log the exception."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from auditor.errors import Terminated
from auditor.interrupts import stop_signals_raise


def test_a_stop_signal_landing_in_an_event_loop_callback_is_not_lost():
    """Reproduction: a SIGTERM arriving while pyroute2's asyncio loop ran a callback raised
    Terminated there; the loop logged and dropped it, and the scan ran on for a minute."""
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(Terminated), stop_signals_raise():
            loop.call_soon(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.01)))
            loop.run_until_complete(asyncio.sleep(0.05))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the signal is sent again and lands here
                time.sleep(0.01)
    finally:
        loop.close()
