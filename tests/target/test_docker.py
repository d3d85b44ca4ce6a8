"""docker inspect data → ContainerInfo (no engine needed)."""

import pytest

from auditor.target.docker import info_from_attrs
from auditor.errors import InputError

ATTRS = {
    "Id": "4f1c0ffee",
    "Name": "/web",
    "State": {"Running": True, "Pid": 4242},
    "NetworkSettings": {
        "Networks": {"app": {"IPAddress": "198.18.60.2", "IPPrefixLen": 24, "Gateway": "198.18.60.1"},
                     "none": {"IPAddress": ""}},
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
                  "53/udp": None},
    },
}


def test_info_from_attrs():
    info = info_from_attrs(ATTRS, bridges={"app": "br-0123456789ab"})
    assert (info.name, info.pid) == ("web", 4242)
    assert [(n.name, n.bridge, n.address, n.prefix) for n in info.networks] == [("app", "br-0123456789ab", "198.18.60.2", 24)]
    assert [(p.protocol, p.host_ip, p.host_port, p.container_port) for p in info.published] == [
        ("tcp", "0.0.0.0", 8080, 80), ("tcp", "::", 8080, 80)]


def test_stopped_container_is_input_error():
    with pytest.raises(InputError, match="not running"):
        info_from_attrs({**ATTRS, "State": {"Running": False, "Pid": 0}})


def test_no_engine_is_an_environment_error_with_a_hint(tmp_path, monkeypatch):
    from auditor.target.docker import container_info
    from auditor.errors import EnvironmentProblem

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    with pytest.raises(EnvironmentProblem, match=r"docker.sock \(no such socket: is dockerd running\?"):
        container_info("web")
