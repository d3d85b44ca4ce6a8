"""The probe socket window: bounded, every socket gets its answer or its full timeout."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from auditor.probe.inflight import MIN_WINDOW, InFlight, socket_limit


def test_ready_sockets_come_back_and_silent_ones_time_out_in_order():
    pairs = [socket.socketpair() for _ in range(4)]
    with InFlight[int](timeout=0.2, limit=4) as flight:
        added = time.monotonic()
        for i, (a, _) in enumerate(pairs):
            flight.add(i, a, 0x001)  # EPOLLIN
        assert flight.full
        pairs[2][1].send(b"x")
        ready, expired = flight.wait()
        assert [k for k, _, _ in ready] == [2] and expired == [] and len(flight) == 3
        ready, expired = flight.wait()
        assert ready == [] and [k for k, _ in expired] == [0, 1, 3]
        # never before their timeout; the upper bound only says "no hang" (a loaded machine
        # may run late, never early)
        assert 0.2 <= time.monotonic() - added < 5 and len(flight) == 0
    for a, b in pairs:
        a.close()
        b.close()


def _window_under(soft: int, hard: int) -> tuple[int, int]:
    code = (f"import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
            "from auditor.probe.inflight import socket_limit\n"
            "print(socket_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    window, soft_after = map(int, out.split())
    return window, soft_after


def test_window_stays_well_below_the_descriptor_limit():
    window, soft = _window_under(100, 100)
    assert MIN_WINDOW <= window <= 50 and soft == 100
    window, soft = _window_under(100, 10000)  # the soft limit is raised toward the hard one
    assert window > 1000 and soft >= 2 * window
