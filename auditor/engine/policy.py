"""Policy files: YAML, validated with pydantic, every error pinned to ``file:line``.

The caller reads the file as any user-named input (:mod:`auditor.inputs`: regular files only,
size cap); its YAML is composed strictly and within bounds (:mod:`auditor.engine.policy_yaml`), so each
value keeps the line it came from; pydantic then validates the plain data and its error
locations are mapped back to those lines. All problems are collected; the first by line is
reported, with a count of the rest, so a user fixing a file top-down sees them in order.
Messages quote input only as short escaped excerpts and stay under :data:`MAX_MESSAGE` characters.
Everything is near-linear in the size of the policy (65,535 services load in seconds).
See the README for the format.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Literal, Union

from auditor.engine.policy_yaml import Lines, load_plain
from auditor.errors import LocatedInputError
from auditor.model.policy import Policy, Service, Zone
from auditor.untrusted import excerpt

SUPPORTED_VERSIONS = (1,)
MAX_MESSAGE = 300
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?\Z", re.ASCII)


def parse_policy(text: str, source: str) -> Policy:
    data, lines = load_plain(text, source)
    problems: list[tuple[int, str]] = []
    if not isinstance(data, dict):
        raise LocatedInputError("a policy must be a mapping (version, name, zones, services …)", source, 1)
    doc = _validate(data, lines, problems)
    policy = _build(doc, lines, source, problems) if doc is not None else None
    if problems:
        problems.sort(key=lambda x: x[0])
        line, msg = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise LocatedInputError(excerpt(msg, MAX_MESSAGE - 1 - len(more)) + more, source, line)  # 1: the "…" of a cut
    assert policy is not None  # _validate and _build record a problem whenever they give up
    return policy


def _line(lines: Lines, path: tuple[Any, ...]) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


# ---------------------------------------------------------------------------------------------
# Schema (pydantic): shapes and types; meaning is checked in _build
# ---------------------------------------------------------------------------------------------


def _models() -> Any:
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class ZoneDoc(Strict):
        networks: list[StrictStr] = Field(min_length=1)
        description: StrictStr = ""

    PortSpec = Union[StrictInt, StrictStr]

    class ServiceDoc(Strict):
        name: StrictStr = Field(min_length=1)
        protocol: Literal["tcp", "udp"] | Annotated[list[Literal["tcp", "udp"]], Field(min_length=1)]
        port: PortSpec | None = None
        ports: PortSpec | list[PortSpec] | None = None
        zones: list[StrictStr] = []
        process: StrictStr | None = None
        processes: Annotated[list[StrictStr], Field(min_length=1)] | None = None
        bind: Literal["any", "loopback"] | Annotated[list[StrictStr], Field(min_length=1)] = "any"
        optional: StrictBool = False
        description: StrictStr = ""

    class PolicyDoc(Strict):
        version: StrictInt
        name: StrictStr = Field(min_length=1)
        description: StrictStr = ""
        default: Literal["deny", "allow"] = "deny"
        require_explicit_rules: StrictBool = False
        ignore_processes: list[StrictStr] = []
        zones: dict[StrictStr, Annotated[list[StrictStr], Field(min_length=1)] | ZoneDoc] = Field(min_length=1)
        services: list[ServiceDoc] = []

    return PolicyDoc


_PolicyDoc: Any = None


def _validate(data: dict[Any, Any], lines: Lines, problems: list[tuple[int, str]]) -> Any:
    global _PolicyDoc
    from pydantic import ValidationError

    if _PolicyDoc is None:
        _PolicyDoc = _models()
    try:
        return _PolicyDoc.model_validate(data)
    except ValidationError as e:
        found = [(*_clean_loc(err["loc"], data), err) for err in e.errors()]
        # a union whose branch fits the value's type speaks for it: a zone written as a mapping is
        # judged as a mapping, not also reported as "expected a list"
        fitting = {point for _, branches, _ in found for point, fits in branches if fits}
        seen: set[tuple[Any, ...]] = set()
        for loc, branches, err in found:
            if loc in seen or any(not fits and point in fitting for point, fits in branches):
                continue
            seen.add(loc)
            problems.append((_line(lines, loc if err["type"] != "extra_forbidden" else loc + ("__key__",)),
                             _message(loc, err)))
        return None


_BRANCHES = frozenset(("ZoneDoc", "int", "str"))


def _fits(branch: str, value: Any) -> bool:
    """Whether a union branch pydantic names (``list[str]``, ``ZoneDoc``, ``int`` …) is the one
    meant for ``value``; a branch of no known shape fits anything."""
    if branch.startswith("list["):
        return isinstance(value, list)
    if branch == "ZoneDoc":
        return isinstance(value, dict)
    if branch == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if branch == "str" or branch.startswith("literal["):
        return isinstance(value, str)
    return True


def _clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[tuple[Any, ...], tuple[tuple[tuple[Any, ...], bool], ...]]:
    """A location without pydantic's union-branch names (``zones.lan.list[str]`` …), and for each
    union on the way, where it is and whether the branch taken fits the value there."""
    out: list[Any] = []
    cur = data
    branches: list[tuple[tuple[Any, ...], bool]] = []
    for part in loc:
        if (isinstance(cur, dict) and part in cur) or (isinstance(cur, list) and isinstance(part, int) and part < len(cur)):
            out.append(part)
            cur = cur[part]
        elif isinstance(part, str) and (part in _BRANCHES or "[" in part):
            branches.append((tuple(out), _fits(part, cur)))
        elif isinstance(cur, dict) and isinstance(part, str) and out[-1:] != [part]:
            out.append(part)  # a missing key: the last element
            break
        else:
            break
    return tuple(out), tuple(branches)


def _path_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{excerpt(str(p), 40)}" if out else excerpt(str(p), 40))
    return out or "policy"


def _shown(value: Any) -> str:
    """An offending value for a message: a short escaped excerpt, never the whole of it."""
    if isinstance(value, str):
        return excerpt(repr(value[:200]), 60)
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    return excerpt(repr(value), 60)


def _message(loc: tuple[Any, ...], err: Mapping[str, Any]) -> str:
    where = _path_text(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key (check the spelling; see the policy format in the README)"
    if err.get("input") == []:  # whichever branch of a union pydantic names, this is what is wrong
        return f"{where}: must not be empty"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind.startswith("literal_error") or kind == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{where}: {_shown(err.get('input'))} is not allowed (expected {expected})"
    if kind in ("int_type", "int_parsing"):
        return f"{where}: expected a whole number, got {_shown(err.get('input'))}"
    if kind in ("string_type",):
        return f"{where}: expected text, got {_shown(err.get('input'))}"
    if kind in ("bool_type",):
        return f"{where}: expected true or false, got {_shown(err.get('input'))}"
    if kind in ("list_type",):
        return f"{where}: expected a list, got {_shown(err.get('input'))}"
    if kind in ("dict_type", "model_type"):
        return f"{where}: expected a mapping, got {_shown(err.get('input'))}"
    if kind in ("too_short", "string_too_short"):
        return f"{where}: must not be empty"
    return f"{where}: {excerpt(err['msg'])}"


# ---------------------------------------------------------------------------------------------
# Meaning: CIDRs, ports, zone references, contradictions
# ---------------------------------------------------------------------------------------------


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if "%" in text:
        # ``ipaddress`` keeps an IPv6 scope (``fd00::%eth0/64``) and passes it on to the addresses
        # taken from the network; a zone is source addresses on any interface, so a scope would
        # read as a limit the audit does not apply
        raise ValueError(f"{excerpt(text, 60)} names an interface scope (%…); a zone network cannot")
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            fixed = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{_shown(text)} is not a valid CIDR network") from None
        raise ValueError(f"{excerpt(text, 60)} has host bits set; did you mean {fixed}?") from None


def _ports(spec: Any) -> tuple[int, int]:
    """A port (int) or ``"LO-HI"``/``"PORT"`` (decimal ASCII digits only: ``int()`` would also
    take ``"٨٠"``, ``"+80"`` and ``"8_0"``)."""
    if isinstance(spec, bool):
        raise ValueError(f"{spec!r} is not a port")
    if isinstance(spec, int):
        lo = hi = spec
    else:
        m = _PORT.match(str(spec).strip())
        if m is None:
            raise ValueError(f"{_shown(spec)} is not a port or a range like 8000-8100 (decimal digits)")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
    for p in (lo, hi):
        if not 1 <= p <= 65535:
            raise ValueError(f"{excerpt(str(p), 24)} is not a valid port (1-65535)")
    if lo > hi:
        raise ValueError(f"range {lo}-{hi} is reversed (write {hi}-{lo})")
    return lo, hi


def _build(doc: Any, lines: Lines, source: str, problems: list[tuple[int, str]]) -> Policy | None:
    def problem(path: tuple[Any, ...], msg: str) -> None:
        problems.append((_line(lines, path), f"{_path_text(path)}: {msg}"))

    if doc.version not in SUPPORTED_VERSIONS:
        problem(("version",), f"unsupported policy version {excerpt(str(doc.version), 24)} "
                              f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))})")
    for key in lines:
        if len(key) >= 2 and key[-1] == "__dup__":
            problems.append((lines[key], f"{_path_text(key[:-1])}: duplicate key"))
    zones: list[Zone] = []
    for name, spec in doc.zones.items():
        nets_text = spec if isinstance(spec, list) else spec.networks
        nets = []
        base = ("zones", name) if isinstance(spec, list) else ("zones", name, "networks")
        for i, t in enumerate(nets_text):
            try:
                nets.append(_network(t))
            except ValueError as e:
                problem(base + (i,), str(e))
        zones.append(Zone(name, tuple(nets), "" if isinstance(spec, list) else spec.description))
    zone_names = {z.name for z in zones}
    declared = excerpt(", ".join(sorted(zone_names)[:10]), 120) + (", …" if len(zone_names) > 10 else "")
    services: list[Service] = []
    entries: list[int] = []  # the index in the file's services list each Service comes from
    names: dict[str, int] = {}
    for i, s in enumerate(doc.services):
        path = ("services", i)
        line = _line(lines, path)
        if s.name in names:
            problem(path + ("name",), f"service {_shown(s.name)} is already declared at line {names[s.name]}")
        names.setdefault(s.name, line)
        if (s.port is None) == (s.ports is None):
            problem(path, "give exactly one of port or ports")
            continue
        specs = [s.port] if s.port is not None else (s.ports if isinstance(s.ports, list) else [s.ports])
        if not specs:
            problem(path + ("ports",), "must not be empty")
        ranges = []
        for j, spec in enumerate(specs):
            where = path + (("port",) if s.port is not None else (("ports", j) if isinstance(s.ports, list) else ("ports",)))
            try:
                ranges.append(_ports(spec))
            except ValueError as e:
                problem(where, str(e))
        for j, z in enumerate(s.zones):
            if z not in zone_names:
                problem(path + ("zones", j), f"unknown zone {_shown(z)} (declared zones: {declared})")
        if s.process is not None and s.processes is not None:
            problem(path, "give process or processes, not both")
        procs = tuple(s.processes or ([s.process] if s.process else []))
        bind: Any = s.bind
        if isinstance(s.bind, list):
            addrs = []
            for j, a in enumerate(s.bind):
                try:
                    if "%" in a:  # kept by ``ipaddress``, never equal to a listener's address
                        problem(path + ("bind", j), f"{_shown(a)} names an interface scope (%…); "
                                                    "write the address alone")
                        continue
                    addrs.append(ipaddress.ip_address(a))
                except ValueError:
                    problem(path + ("bind", j), f"{_shown(a)} is not an IP address (or use any / loopback)")
            bind = tuple(addrs)
        protocols = s.protocol if isinstance(s.protocol, list) else [s.protocol]
        for proto in dict.fromkeys(protocols):
            for r in ranges:
                services.append(Service(s.name, proto, r, tuple(s.zones), procs, bind, s.optional, line))
                entries.append(i)
    _contradictions(services, entries, problems)
    if problems:
        return None
    return Policy(
        path=source, name=doc.name, zones=tuple(zones), services=tuple(services), default=doc.default,
        require_explicit_rules=doc.require_explicit_rules, ignore_processes=tuple(doc.ignore_processes),
        description=doc.description,
    )


def _contradictions(services: list[Service], entries: list[int], problems: list[tuple[int, str]]) -> None:
    """Two entries covering the same protocol/port must say the same thing.

    A sweep over the ranges sorted by start port, holding the range reaching furthest so far:
    O(n log n), where comparing every pair took 309 s for 65,535 services. Every entry that
    overlaps an earlier-starting one is reported once (against that one), which names every
    conflicting group; entries declaring several overlapping ranges themselves are not.
    """
    order = sorted(range(len(services)), key=lambda k: (services[k].protocol, services[k].ports[0], k))
    reported: set[int] = set()
    reach = -1
    owner = -1
    for k in order:
        b = services[k]
        if owner >= 0 and services[owner].protocol != b.protocol:
            reach, owner = -1, -1
        if owner >= 0 and b.ports[0] <= reach and entries[owner] != entries[k]:
            a = services[owner]
            first, second = (a, b) if (entries[owner], owner) < (entries[k], k) else (b, a)
            later = max(entries[owner], entries[k])
            if later not in reported:
                reported.add(later)
                same = (sorted(a.zones), a.processes, a.bind) == (sorted(b.zones), b.processes, b.bind)
                lo, hi = max(a.ports[0], b.ports[0]), min(a.ports[1], b.ports[1])
                ports = f"{lo}" if lo == hi else f"{lo}-{hi}"
                problems.append((second.line or 1, f"service {_shown(second.name)} {'repeats' if same else 'contradicts'} "
                                                   f"service {_shown(first.name)} (line {first.line}) for "
                                                   f"{a.protocol}/{ports}: declare each port once"))
        if b.ports[1] > reach:
            reach, owner = b.ports[1], k
