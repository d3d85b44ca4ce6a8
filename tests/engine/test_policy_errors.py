"""Policy files, exactly: the model each accepted form loads as, and for each rejection the
message a user sees and the line it names (the loader faces hand-written and hostile files)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.policy import MAX_MESSAGE, _contradictions, _ports, parse_policy
from auditor.errors import LocatedInputError
from auditor.model.policy import Policy, Service, Zone

HEAD = "version: 1\nname: t\nzones:\n  lan: [198.18.0.0/24]\n"
SVC = HEAD + "services:\n  - name: s\n    protocol: tcp\n"  # a service, lines 6-7, to complete
LAN = Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),))


@pytest.fixture(autouse=True, scope="module")
def fresh_schema():
    """These tests load with the schema built afresh, as a new ``fwaudit`` process does (the
    loader keeps the pydantic model it builds on first use; built once here, ~50 ms)."""
    from auditor.engine import policy

    with pytest.MonkeyPatch.context() as m:
        m.setattr(policy, "_PolicyDoc", None)
        yield


def rejection(text: str) -> tuple[str, int | None]:
    """(message, line) of the one error loading ``text``; the file is named as given."""
    with pytest.raises(LocatedInputError) as e:
        parse_policy(text, "p.yaml")
    assert e.value.file == "p.yaml"
    return e.value.detail, e.value.line


def net(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# --- accepted forms, as the whole model -----------------------------------------------------------

def test_a_full_policy_loads_as_exactly_this_model():
    text = """version: 1
name: shop
description: the web shop
default: allow
require_explicit_rules: true
ignore_processes: [dockerd, containerd]
zones:
  lan: [198.18.0.0/24, "fd00::/64"]
  internet:
    networks: [0.0.0.0/0]
    description: everyone
  dmz: {networks: ["198.19.0.0/24"]}
services:
  - name: ssh
    protocol: tcp
    port: 22
    zones: [lan]
    processes: [sshd, dropbear]
    optional: true
    description: admin access
  - name: dns
    protocol: [udp, tcp, udp]
    ports: ["53", " 5353-5354 "]
    zones: [lan, internet]
    process: named
    bind: [198.18.0.1, "fd00::1"]
  - name: redis
    protocol: tcp
    ports: 6379
    bind: loopback
  - name: anon
    protocol: udp
    port: "9000-9001"
    process: ""
"""
    addrs = (ipaddress.ip_address("198.18.0.1"), ipaddress.ip_address("fd00::1"))
    dns = [Service("dns", proto, ports, ("lan", "internet"), ("named",), addrs, False, 21)
           for proto in ("udp", "tcp") for ports in ((53, 53), (5353, 5354))]
    assert parse_policy(text, "shop.yaml") == Policy(
        path="shop.yaml", name="shop", description="the web shop", default="allow",
        require_explicit_rules=True, ignore_processes=("dockerd", "containerd"),
        zones=(Zone("lan", net("198.18.0.0/24", "fd00::/64")), Zone("internet", net("0.0.0.0/0"), "everyone"),
               Zone("dmz", net("198.19.0.0/24"))),
        services=(Service("ssh", "tcp", (22, 22), ("lan",), ("sshd", "dropbear"), "any", True, 14), *dns,
                  Service("redis", "tcp", (6379, 6379), (), (), "loopback", False, 27),
                  Service("anon", "udp", (9000, 9001), (), (), "any", False, 31)))


def test_a_minimal_policy_takes_the_defaults():
    assert parse_policy(HEAD, "p.yaml") == Policy(
        path="p.yaml", name="t", zones=(LAN,), services=(), default="deny", require_explicit_rules=False,
        ignore_processes=(), description="")


@pytest.mark.parametrize("spec,ports", [
    (1, (1, 1)), (65535, (65535, 65535)), ('"1"', (1, 1)), ('"65535"', (65535, 65535)),
    ('"1-65535"', (1, 65535)), ('"80-80"', (80, 80)), ('" 8000-8100 "', (8000, 8100)),
])
def test_ports_at_the_edges_of_the_range(spec, ports):
    assert parse_policy(SVC + f"    port: {spec}\n", "p.yaml").services[0].ports == ports


def test_same_port_in_two_protocols_or_one_entry_is_no_conflict():
    text = HEAD + ("services:\n  - {name: a, protocol: tcp, port: 53}\n  - {name: b, protocol: udp, port: 53}\n"
                   '  - {name: c, protocol: tcp, ports: ["100-200", 150]}\n')
    assert [(s.name, s.protocol, s.ports) for s in parse_policy(text, "p.yaml").services] == [
        ("a", "tcp", (53, 53)), ("b", "udp", (53, 53)), ("c", "tcp", (100, 200)), ("c", "tcp", (150, 150))]


# --- the schema: each kind of mistake, its message and line ---------------------------------------

SCHEMA = [
    ("not a mapping", "- a\n- b\n", "a policy must be a mapping (version, name, zones, services …)", 1),
    ("a bare value", "just text\n", "a policy must be a mapping (version, name, zones, services …)", 1),
    ("YAML syntax", HEAD + "services: [\n", "YAML syntax error: did not find expected node content", 6),
    ("YAML error", HEAD + "description: \x00\n",
     'YAML error: unacceptable character #x0000: control characters are not allowed\\x0a  in "<unicode…', None),
    ("version as text", 'version: "1"\nname: t\nzones: {lan: [198.18.0.0/24]}\n',
     "version: expected a whole number, got '1'", 1),
    ("version missing", "name: t\nzones: {lan: [198.18.0.0/24]}\n", "version: required key is missing", 1),
    ("name a number", HEAD.replace("name: t", "name: 5"), "name: expected text, got 5", 2),
    ("name a list", HEAD.replace("name: t", "name: [x, y, z]"), "name: expected text, got a list of 3 item(s)", 2),
    ("name empty", HEAD.replace("name: t", 'name: ""'), "name: must not be empty", 2),
    ("name a huge number", HEAD.replace("name: t", "name: " + "9" * 100), "name: expected text, got " + "9" * 60 + "…", 2),
    ("description a mapping", HEAD + "description: {a: 1, b: 2}\n",
     "description: expected text, got a mapping of 2 key(s)", 5),
    # the value's line, not the key's
    ("description a list", HEAD + "description:\n  - a\n", "description: expected text, got a list of 1 item(s)", 6),
    ("description null", HEAD + "description:\n", "description: expected text, got None", 5),
    ("description true", HEAD + "description: true\n", "description: expected text, got True", 5),
    ("long text is cut", HEAD + "default: " + "z" * 300 + "\n",
     "default: 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz… is not allowed "
     "(expected 'deny' or 'allow')", 5),
    ("default", HEAD + "default: maybe\n", "default: 'maybe' is not allowed (expected 'deny' or 'allow')", 5),
    ("require_explicit_rules: yes", HEAD + "require_explicit_rules: yes\n",
     "require_explicit_rules: expected true or false, got 'yes'", 5),
    ("ignore_processes text", HEAD + "ignore_processes: sshd\n", "ignore_processes: expected a list, got 'sshd'", 5),
    ("zones a list", "version: 1\nname: t\nzones: [lan]\n", "zones: expected a mapping, got a list of 1 item(s)", 3),
    ("zones missing", "version: 1\nname: t\n", "zones: required key is missing", 1),
    # a zone written as a mapping is judged as one (not also "expected a list"), and the other way
    ("zone mapping, networks empty", "version: 1\nname: t\nzones:\n  lan: {networks: []}\n",
     "zones.lan.networks: must not be empty", 4),
    ("zone mapping, key misspelt", "version: 1\nname: t\nzones:\n  lan:\n    networks: [198.18.0.0/24]\n"
     "    descripton: x\n", "zones.lan.descripton: unknown key (check the spelling; see the policy format "
     "in the README)", 6),
    ("zone mapping, networks text", "version: 1\nname: t\nzones:\n  lan:\n    networks: 198.18.0.0/24\n",
     "zones.lan.networks: expected a list, got '198.18.0.0/24'", 5),
    ("zone mapping without networks", "version: 1\nname: t\nzones:\n  lan:\n    description: x\n",
     "zones.lan.networks: required key is missing", 5),
    ("zone network a number", "version: 1\nname: t\nzones:\n  lan: [5]\n", "zones.lan[0]: expected text, got 5", 4),
    # neither branch fits a number: the first one found speaks
    ("zone a number", "version: 1\nname: t\nzones:\n  lan: 5\n", "zones.lan: expected a list, got 5", 4),
    ("services a mapping", HEAD + "services: {a: 1}\n", "services: expected a list, got a mapping of 1 key(s)", 5),
    ("service a number", HEAD + "services:\n  - 5\n", "services[0]: expected a mapping, got 5", 6),
    ("service a list", HEAD + "services:\n  - [a]\n", "services[0]: expected a mapping, got a list of 1 item(s)", 6),
    ("service name missing", HEAD + "services:\n  - protocol: tcp\n    port: 1\n",
     "services[0].name: required key is missing", 6),
    ("second service's name missing", HEAD + "services:\n  - {name: a, protocol: tcp, port: 1}\n"
     "  - protocol: tcp\n    port: 2\n", "services[1].name: required key is missing", 7),
    ("long unknown key in a service", SVC + "    port: 1\n    " + "k" * 50 + ": 1\n",
     "services[0]." + "k" * 40 + "…: unknown key (check the spelling; see the policy format in the README)", 9),
    ("service name empty", SVC.replace("name: s", 'name: ""') + "    port: 1\n",
     "services[0].name: must not be empty", 6),
    ("protocol a number", SVC.replace("protocol: tcp", "protocol: 6") + "    port: 1\n",
     "services[0].protocol: 6 is not allowed (expected 'tcp' or 'udp')", 7),
    ("port a mapping", SVC + "    port: {a: 1}\n", "services[0].port: expected a whole number, got a mapping of 1 key(s)", 8),
    # a list is judged as a list, and its item by the port's own branches
    ("ports a nested list", SVC + "    ports: [[1]]\n",
     "services[0].ports[0]: expected a whole number, got a list of 1 item(s)", 8),
    ("protocol list, bad item", SVC.replace("protocol: tcp", "protocol: [tcp, icmp]") + "    port: 1\n",
     "services[0].protocol[1]: 'icmp' is not allowed (expected 'tcp' or 'udp')", 7),
    ("bind list, not text", SVC + "    port: 1\n    bind: [5]\n", "services[0].bind[0]: expected text, got 5", 9),
    ("zones text", SVC + "    port: 1\n    zones: lan\n", "services[0].zones: expected a list, got 'lan'", 9),
    ("bind word", SVC + "    port: 1\n    bind: everywhere\n",
     "services[0].bind: 'everywhere' is not allowed (expected 'any' or 'loopback')", 9),
    ("processes text", SVC + "    port: 1\n    processes: sshd\n", "services[0].processes: expected a list, got 'sshd'", 9),
    ("optional: 1", SVC + "    port: 1\n    optional: 1\n", "services[0].optional: expected true or false, got 1", 9),
    ("unknown key", SVC + "    port: 1\n    colour: red\n",
     "services[0].colour: unknown key (check the spelling; see the policy format in the README)", 9),
    # the key's own line, not its value's
    ("unknown top key", "colour:\n  - red\n" + HEAD,
     "colour: unknown key (check the spelling; see the policy format in the README)", 1),
    ("unknown key, empty list", HEAD + "servcies: []\n",
     "servcies: unknown key (check the spelling; see the policy format in the README)", 5),
    ("empty zones", "version: 1\nname: t\nzones: {}\n", "zones: must not be empty", 3),
    ("empty protocol list", SVC.replace("protocol: tcp", "protocol: []") + "    port: 1\n",
     "services[0].protocol: must not be empty", 7),
]


@pytest.mark.parametrize("name,text,message,line", SCHEMA, ids=[c[0] for c in SCHEMA])
def test_schema_mistakes(name, text, message, line):
    assert rejection(text) == (message, line)


# --- meaning: networks, ports, zones, processes, bind, duplicates ---------------------------------

MEANING = [
    ("version 2", HEAD.replace("version: 1", "version: 2"), "version: unsupported policy version 2 (supported: 1)", 1),
    ("version 0", HEAD.replace("version: 1", "version: 0"), "version: unsupported policy version 0 (supported: 1)", 1),
    ("huge version", HEAD.replace("version: 1", "version: " + "7" * 30),
     "version: unsupported policy version 777777777777777777777777… (supported: 1)", 1),
    ("duplicate top key", HEAD + "name: u\n", "name: duplicate key", 5),
    ("duplicate nested key", SVC + "    port: 1\n    port: 2\n", "services[0].port: duplicate key", 9),
    ("not a network", "version: 1\nname: t\nzones:\n  lan: [198.18.0.0/24, nowhere]\n",
     "zones.lan[1]: 'nowhere' is not a valid CIDR network", 4),
    ("host bits in a zone mapping", "version: 1\nname: t\nzones:\n  lan:\n    description: x\n"
     "    networks:\n      - 198.18.0.0/24\n      - 198.18.1.1/24\n",
     "zones.lan.networks[1]: 198.18.1.1/24 has host bits set; did you mean 198.18.1.0/24?", 8),
    ("long network", "version: 1\nname: t\nzones:\n  lan: [" + "y" * 100 + "]\n",
     "zones.lan[0]: 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy… is not a valid CIDR network", 4),
    ("port and ports", SVC + "    port: 1\n    ports: [2]\n", "services[0]: give exactly one of port or ports", 6),
    ("no port", SVC + "    zones: [lan]\n", "services[0]: give exactly one of port or ports", 6),
    ("ports empty", SVC + "    ports: []\n", "services[0].ports: must not be empty", 8),
    ("port 0", SVC + "    port: 0\n", "services[0].port: 0 is not a valid port (1-65535)", 8),
    ("port 65536", SVC + "    port: 65536\n", "services[0].port: 65536 is not a valid port (1-65535)", 8),
    ("port -1", SVC + "    port: -1\n", "services[0].port: -1 is not a valid port (1-65535)", 8),
    ("range 0-5", SVC + '    port: "0-5"\n', "services[0].port: 0 is not a valid port (1-65535)", 8),
    ("range to 65536", SVC + '    port: "1-65536"\n', "services[0].port: 65536 is not a valid port (1-65535)", 8),
    ("huge port", SVC + "    port: " + "9" * 40 + "\n",
     "services[0].port: 999999999999999999999999… is not a valid port (1-65535)", 8),
    ("reversed single ports", SVC + '    ports: "5-3"\n', "services[0].ports: range 5-3 is reversed (write 3-5)", 8),
    ("bad second port", SVC + '    ports: [1, "x"]\n',
     "services[0].ports[1]: 'x' is not a port or a range like 8000-8100 (decimal digits)", 8),
    ("open range", SVC + '    port: "80-"\n',
     "services[0].port: '80-' is not a port or a range like 8000-8100 (decimal digits)", 8),
    ("six digits", SVC + '    port: "100000"\n',
     "services[0].port: '100000' is not a port or a range like 8000-8100 (decimal digits)", 8),
    ("a float", SVC + "    port: 1.5\n",
     "services[0].port: '1.5' is not a port or a range like 8000-8100 (decimal digits)", 8),
    ("process and processes", SVC + "    port: 1\n    process: a\n    processes: [b]\n",
     "services[0]: give process or processes, not both", 6),
    ("bad bind address", SVC + "    port: 1\n    bind: [198.18.0.1, nope]\n",
     "services[0].bind[1]: 'nope' is not an IP address (or use any / loopback)", 9),
    # ipaddress keeps an IPv6 scope: a listener's address never equals it, a zone would carry it on
    ("scoped bind address", SVC + '    port: 1\n    bind: ["fe80::1%eth0"]\n',
     "services[0].bind[0]: 'fe80::1%eth0' names an interface scope (%…); write the address alone", 9),
    ("scoped zone network", 'version: 1\nname: t\nzones:\n  lan: ["fd00::%eth0/64"]\n',
     "zones.lan[0]: fd00::%eth0/64 names an interface scope (%…); a zone network cannot", 4),
    ("unknown zone", SVC + "    port: 1\n    zones: [lan, wan]\n",
     "services[0].zones[1]: unknown zone 'wan' (declared zones: lan)", 9),
    ("service declared twice", HEAD + "services:\n  - {name: a, protocol: tcp, port: 1}\n"
     "  - {name: b, protocol: tcp, port: 2}\n  - {name: a, protocol: udp, port: 3}\n",
     "services[2].name: service 'a' is already declared at line 6", 8),
]


@pytest.mark.parametrize("name,text,message,line", MEANING, ids=[c[0] for c in MEANING])
def test_meaning_mistakes(name, text, message, line):
    assert rejection(text) == (message, line)


def zones_policy(count: int) -> str:
    return "version: 1\nname: t\nzones:\n" + "".join(f"  z{i:02d}: [198.18.{i}.0/24]\n" for i in range(count))


def test_unknown_zone_names_at_most_ten_declared_zones():
    svc = "services:\n  - {name: s, protocol: tcp, port: 1, zones: [wan]}\n"
    ten = "z00, z01, z02, z03, z04, z05, z06, z07, z08, z09"
    assert rejection(zones_policy(10) + svc) == (
        f"services[0].zones[0]: unknown zone 'wan' (declared zones: {ten})", 15)
    assert rejection(zones_policy(12) + svc) == (
        f"services[0].zones[0]: unknown zone 'wan' (declared zones: {ten}, …)", 17)


def test_a_name_declared_three_times_points_at_the_first():
    text = HEAD + "services:\n" + "".join(f"  - {{name: a, protocol: tcp, port: {p}}}\n" for p in (1, 2, 3))
    assert rejection(text) == ("services[1].name: service 'a' is already declared at line 6 (and 1 more problem)", 7)
    text = HEAD + "services:\n" + "".join(f"  - {{name: {n}, protocol: tcp, port: {p}}}\n"
                                          for n, p in (("a", 1), ("b", 2), ("b", 3), ("a", 4)))
    assert rejection(text) == ("services[2].name: service 'b' is already declared at line 7 (and 1 more problem)", 8)


# --- several problems: the first by line, and a count of the rest ---------------------------------

def test_every_problem_is_collected_and_the_first_by_line_reported():
    text = HEAD.replace("version: 1", "version: 2") + (
        "services:\n  - {name: s, protocol: tcp, zones: [wan]}\n  - {name: s, protocol: tcp, port: 0}\n")
    # version (line 1), no port (line 6: the entry is skipped, its zones unchecked), twice s, port 0
    assert rejection(text) == ("version: unsupported policy version 2 (supported: 1) (and 3 more problems)", 1)
    assert rejection(text.replace("version: 2", "version: 1")) == (
        "services[0]: give exactly one of port or ports (and 2 more problems)", 6)


def test_problems_are_ordered_by_line_not_by_text_or_discovery():
    # found in this order: the contradiction (line 8) last, the unknown zone (line 9) before it
    text = HEAD + ("services:\n  - {name: a, protocol: tcp, port: 5}\n  - {name: b, protocol: tcp, port: 5}\n"
                   "  - {name: c, protocol: tcp, port: 6, zones: [wan]}\n")
    assert rejection(text) == (
        "service 'b' repeats service 'a' (line 6) for tcp/5: declare each port once (and 1 more problem)", 7)
    text = HEAD.replace("version: 1", "version: 3") + "services:\n  - {name: c, protocol: tcp, port: 6, zones: [wan]}\n"
    assert rejection(text) == ("version: unsupported policy version 3 (supported: 1) (and 1 more problem)", 1)


def test_one_mistake_seen_by_several_schema_branches_is_one_problem():
    # a port must be a number or text: both branches reject a mapping, reported once
    assert rejection(SVC + "    port: {a: 1}\n    zones: lan\n") == (
        "services[0].port: expected a whole number, got a mapping of 1 key(s) (and 1 more problem)", 8)


def zone_net(cidr: str) -> str:
    return f'version: 1\nname: t\nzones:\n  lan: ["{cidr}"]\n'


def test_messages_stay_short_however_long_the_input():
    # an IPv6 scope can be any text of any length: the message quotes it in short
    assert rejection(zone_net("fd00::1%" + "x" * 400 + "/64")) == (
        "zones.lan[0]: fd00::1%" + "x" * 52 + "… names an interface scope (%…); a zone network cannot", 4)
    # escaped, a control character takes six: the whole message is cut to MAX_MESSAGE (with its "…")
    text = zone_net("fd00::1%" + "\\u202e" * 400 + "/64")
    message, line = rejection(text)
    assert (line, len(message)) == (4, MAX_MESSAGE)
    assert message == ("zones.lan[0]: fd00::1%" + "\\u202e" * 53)[:MAX_MESSAGE - 1] + "…"
    message, line = rejection(text + "services:\n  - {name: x, protocol: tcp, port: 0}\n")
    assert (line, len(message)) == (4, MAX_MESSAGE)
    assert message == ("zones.lan[0]: fd00::1%" + "\\u202e" * 53)[:MAX_MESSAGE - 22] + "… (and 1 more problem)"
    long_key = HEAD + "k" * 50 + ": 1\nservices: 5\n"
    assert rejection(long_key) == (
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…: unknown key (check the spelling; see the policy "
        "format in the README) (and 1 more problem)", 5)


def test_unknown_zone_message_quotes_declared_names_in_short():
    zones = "version: 1\nname: t\nzones:\n" + "".join(f"  {'z' * 30}{i:02d}: [198.18.{i}.0/24]\n" for i in range(11))
    text = zones + "services:\n  - {name: s, protocol: tcp, port: 1, zones: [" + "w" * 100 + "]}\n"
    shown = ", ".join(f"{'z' * 30}{i:02d}" for i in range(10))
    assert rejection(text) == (
        f"services[0].zones[0]: unknown zone '{'w' * 59}… (declared zones: {shown[:120]}…, …)", 16)


# --- ports and overlaps, unit by unit ------------------------------------------------------------

@pytest.mark.parametrize("spec,message", [
    (True, "True is not a port"), (False, "False is not a port"),
    ("", "'' is not a port or a range like 8000-8100 (decimal digits)"),
    ("1-2-3", "'1-2-3' is not a port or a range like 8000-8100 (decimal digits)"),
    ("70000-1", "70000 is not a valid port (1-65535)"),
    ("20-10", "range 20-10 is reversed (write 10-20)"),
])
def test_ports_refuses(spec, message):
    with pytest.raises(ValueError) as e:
        _ports(spec)
    assert str(e.value) == message


def svc(name, lo, hi, line, proto="tcp", zones=("lan",), processes=(), bind="any"):
    return Service(name, proto, (lo, hi), zones, processes, bind, False, line)


def overlaps(*services: Service, entries: list[int] | None = None) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    _contradictions(list(services), list(range(len(services))) if entries is None else entries, problems)
    return problems


def test_an_overlap_is_reported_against_the_earlier_entry_with_the_shared_ports():
    assert overlaps(svc("a", 100, 200, 3), svc("b", 150, 300, 9, zones=("wan",))) == [
        (9, "service 'b' contradicts service 'a' (line 3) for tcp/150-200: declare each port once")]
    # the later entry is named second even when its range starts first
    assert overlaps(svc("a", 150, 300, 3), svc("b", 100, 200, 9)) == [
        (9, "service 'b' repeats service 'a' (line 3) for tcp/150-200: declare each port once")]
    # touching ranges share one port
    assert overlaps(svc("a", 1, 80, 3), svc("b", 80, 90, 4)) == [
        (4, "service 'b' repeats service 'a' (line 3) for tcp/80: declare each port once")]
    assert overlaps(svc("a", 1, 79, 3), svc("b", 80, 90, 4)) == []


def test_repeats_means_same_zones_in_any_order_processes_and_bind():
    a = svc("a", 5, 5, 1, zones=("lan", "dmz"), processes=("x",), bind="loopback")
    same = svc("b", 5, 5, 2, zones=("dmz", "lan"), processes=("x",), bind="loopback")
    assert overlaps(a, same)[0][1].startswith("service 'b' repeats")
    for other in (svc("b", 5, 5, 2, zones=("lan",), processes=("x",), bind="loopback"),
                  svc("b", 5, 5, 2, zones=("dmz", "lan"), processes=("y",), bind="loopback"),
                  svc("b", 5, 5, 2, zones=("dmz", "lan"), processes=("x",), bind="any")):
        assert overlaps(a, other)[0][1].startswith("service 'b' contradicts")


def test_each_later_entry_is_reported_once_and_protocols_apart():
    # c overlaps a twice (its two ranges, one entry): one report
    services = [svc("a", 1, 100, 3), svc("c", 10, 10, 7), svc("c", 20, 20, 7), svc("u", 1, 100, 8, "udp")]
    assert overlaps(*services, entries=[0, 1, 1, 2]) == [
        (7, "service 'c' repeats service 'a' (line 3) for tcp/10: declare each port once")]
    # a udp range never clashes with a tcp one, even when the udp one reaches further
    assert overlaps(svc("t", 1, 10, 1), svc("u", 5, 50, 2, "udp"), svc("t2", 20, 20, 3)) == []
    assert overlaps(svc("u", 5, 50, 1, "udp"), svc("t", 1, 10, 2), svc("u2", 20, 20, 3, "udp")) == [
        (3, "service 'u2' repeats service 'u' (line 1) for udp/20: declare each port once")]


def test_a_new_protocol_starts_afresh_even_at_port_1():
    assert overlaps(svc("t", 5, 5, 1), svc("u", 1, 1, 2, "udp"), svc("u2", 1, 1, 3, "udp")) == [
        (3, "service 'u2' repeats service 'u' (line 2) for udp/1: declare each port once")]


def test_the_range_reaching_furthest_is_the_one_compared():
    # b starts inside a but reaches further: c (250) overlaps b, not a
    assert overlaps(svc("a", 1, 100, 1), svc("b", 50, 300, 2), svc("c", 250, 250, 3, zones=("wan",))) == [
        (2, "service 'b' repeats service 'a' (line 1) for tcp/50-100: declare each port once"),
        (3, "service 'c' contradicts service 'b' (line 2) for tcp/250: declare each port once")]
    # a short range inside a long one does not take over: d (90) still overlaps a
    assert overlaps(svc("a", 1, 100, 1), svc("b", 10, 20, 2), svc("d", 90, 90, 3)) == [
        (2, "service 'b' repeats service 'a' (line 1) for tcp/10-20: declare each port once"),
        (3, "service 'd' repeats service 'a' (line 1) for tcp/90: declare each port once")]


def test_of_ranges_reaching_equally_far_the_first_stays_the_one_compared():
    assert overlaps(svc("a", 1, 100, 1), svc("b", 50, 100, 2), svc("c", 100, 100, 3)) == [
        (2, "service 'b' repeats service 'a' (line 1) for tcp/50-100: declare each port once"),
        (3, "service 'c' repeats service 'a' (line 1) for tcp/100: declare each port once")]


def test_an_overlap_without_a_line_is_reported_at_line_1():
    assert overlaps(svc("a", 1, 1, None), svc("b", 1, 1, None)) == [
        (1, "service 'b' repeats service 'a' (line None) for tcp/1: declare each port once")]
