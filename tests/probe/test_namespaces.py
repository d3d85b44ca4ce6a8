import os
import time

import pytest

from auditor.probe.namespaces import Namespace, connect, leftover_namespaces

pytestmark = pytest.mark.root


def test_namespace_lifecycle_removes_namespace_and_processes(make_netns):
    a = make_netns("a")
    b = make_netns("b")
    connect(a, "fwta0", b, "fwtb0")
    a.add_address("fwta0", "198.18.0.1/30")
    b.add_address("fwtb0", "198.18.0.2/30")
    proc = a.spawn(["sleep", "30"])
    out = b.exec(["ip", "-o", "addr", "show", "dev", "fwtb0"]).stdout
    assert "198.18.0.2/30" in out
    a.close()
    assert proc.poll() is not None
    assert not os.path.exists(a.path)
    assert a.name not in leftover_namespaces()
    # the peer end goes away with its namespace (the kernel cleans up asynchronously)
    deadline = time.monotonic() + 5
    while b.exec(["ip", "link", "show", "fwtb0"], check=False).returncode == 0:
        assert time.monotonic() < deadline, "veth peer survived its namespace"
        time.sleep(0.05)


def test_names_must_carry_prefix():
    with pytest.raises(ValueError):
        Namespace("other", create=False)
