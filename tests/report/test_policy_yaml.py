"""policy init drafts as YAML: every name other people chose is quoted, and reads back as itself."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.policy import parse_policy
from auditor.engine.policy_draft import draft_policy as draft
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Zone
from auditor.report.policy_yaml import render_draft, yaml_quote


def draft_policy(target, listeners, host, views=()):
    """The draft's text, as ``policy init`` writes it."""
    return render_draft(draft(target, listeners, host, views), target, firewall_view=bool(views))


def zones_policy(zones):
    """A policy declaring just ``zones`` ({name: [CIDR, ...]}), as the draft renderer writes it."""
    pol = Policy("<stub>", "draft", tuple(Zone(name, tuple(ipaddress.ip_network(n) for n in nets))
                                          for name, nets in zones.items()), ())
    return render_draft(pol, "stub", firewall_view=True)

HOSTILE = ["yes", "on", "-1", "no", "null", "~", "true", "0x1f", "022", "1e3", ".inf", "",
           "a: b", "#x", "&anchor", "*alias", "!!binary", "!!python/object:os.system", "<<", "- x",
           "line\nbreak", "tab\there", "\x1b]2;PWNED\x07", "\x01", "\x7f\x85\x9b", "é😀", "\u202eevil",
           "\u2028", "\ufeff", '"quoted"', "back\\slash", "'single'", "[list]", "{map}", "% dir", "@at", "`tick`",
           "\ufffe"]


def host(*ifaces: str) -> HostContext:
    return HostContext(interfaces=tuple(
        Interface(name, (ipaddress.ip_interface(f"198.18.{i}.1/24"),)) for i, name in enumerate(ifaces)))


def listener(port: int, *names: str) -> Listener:
    return Listener("tcp", "ipv4", "0.0.0.0", port, processes=tuple(Process(100 + i, n, "root") for i, n in enumerate(names)))


@pytest.mark.parametrize("name", HOSTILE)
def test_process_named_like_yaml_is_a_name_in_the_draft(name):
    """Reproduction: a process named yes, on or -1 made policy init fail
    (services[3].name: expected text, got True)."""
    text = draft_policy("netns:x", [listener(22, name), listener(80, "nginx")], host("eth0"))
    pol = parse_policy(text, "<draft>")
    by_port = {s.ports[0]: s for s in pol.services}
    assert by_port[22].processes == (name,) and by_port[80].processes == ("nginx",)
    assert by_port[22].name == (name or "tcp-22")


@pytest.mark.parametrize("name", [n for n in HOSTILE if n])
def test_hostile_interface_names_become_zone_names(name):
    text = zones_policy({f"local-{name}": ["198.18.0.0/24"], "internet": ["0.0.0.0/0"]})
    assert [z.name for z in parse_policy(text, "<stub>").zones] == [f"local-{name}", "internet"]
    text = draft_policy("netns:x", [listener(22, "sshd")], host(name))
    assert {z.name for z in parse_policy(text, "<draft>").zones} == {f"local-{name}", "internet"}


def test_target_in_the_comment_cannot_break_out():
    text = draft_policy("container:x\nname: evil", [], host("eth0"))
    assert parse_policy(text, "<draft>").name == "container-x\nname- evil"
    assert text.splitlines()[0].startswith("# Drafted") and "\\x0a" in text.splitlines()[0]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_yaml_quote_round_trips_any_text(s):
    pol = parse_policy(zones_policy({"z": ["198.18.0.0/24"]}) + f"description: {yaml_quote(s)}\n", "<q>")
    assert pol.description == s


def test_duplicate_service_names_stay_unique():
    text = draft_policy("netns:x", [listener(1, "x"), listener(2, "x"), listener(3, "x-tcp-2")], host("eth0"))
    names = [s.name for s in parse_policy(text, "<draft>").services]
    assert len(set(names)) == 3


def test_draft_of_a_host_describes_its_listeners_and_bind_scopes():
    socks = [listener(22, "sshd"), Listener("tcp", "ipv4", "127.0.0.1", 6379, processes=(Process(7, "redis", "r"),)),
             Listener("udp", "ipv4", "198.18.0.1", 53, processes=(Process(8, "dns", "r"),)),
             Listener("udp", "ipv6", "fd00:db8::1", 53, processes=(Process(8, "dns", "r"),))]
    pol = parse_policy(draft_policy("netns:x", socks, host("eth0")), "<draft>")
    by_port = {s.ports[0]: s for s in pol.services}
    assert (by_port[22].bind, by_port[6379].bind) == ("any", "loopback")
    assert [str(a) for a in by_port[53].bind] == ["198.18.0.1", "fd00:db8::1"]
    assert [z.name for z in pol.zones] == ["local-eth0", "internet"] and pol.name == "netns-x"
