"""What a socket accepts: the address families and destinations of a listener."""

from __future__ import annotations

import pytest

from auditor.model.listener import Listener, Process


def listener(port, proto="tcp", family="ipv4", address=None, dual=False, name="d"):
    address = address or ("0.0.0.0" if family == "ipv4" else "::")
    return Listener(proto, family, address, port, dual_stack=dual, processes=(Process(1, name, "root"),))


@pytest.mark.parametrize("l,dest,ok", [
    (listener(1), "198.18.0.2", True),
    (listener(1, address="198.18.0.3"), "198.18.0.2", False),
    (listener(1, family="ipv6", dual=True), "198.18.0.2", True),
    (listener(1, family="ipv6", dual=False), "198.18.0.2", False),
    (listener(1, family="ipv6", address="::ffff:198.18.0.2"), "198.18.0.2", True),
    (listener(1, family="ipv6"), "fd00:db8::2", True),
    (listener(1, address="127.0.0.1"), "198.18.0.2", False),
    (listener(1, address="127.0.0.1"), "127.0.0.1", True),
])
def test_serves(l, dest, ok):
    assert l.serves(dest) is ok
