"""Policy files: YAML, validated with pydantic, every error pinned to ``file:line``.

The YAML is composed into nodes first so each value keeps the line it came from; pydantic
then validates the plain data and its error locations are mapped back to those lines. All
problems are collected; the first by line is reported, with a count of the rest, so a user
fixing a file top-down sees them in order. See the README for the format.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal, Union

from auditor.errors import InputError, LocatedInputError
from auditor.model.policy import Policy, Service, Zone

SUPPORTED_VERSIONS = (1,)


def load_policy(path: Path | str) -> Policy:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"policy file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read policy file {p}: {e}") from None
    return parse_policy(text, str(p))


def parse_policy(text: str, source: str) -> Policy:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise LocatedInputError(f"YAML syntax error: {e.problem or e}", source, line) from None
    except yaml.YAMLError as e:
        raise LocatedInputError(f"YAML error: {e}", source, None) from None
    if node is None:
        raise LocatedInputError("the policy file is empty", source, 1)
    lines: dict[tuple, int] = {}
    data = _plain(node, (), lines)
    problems: list[tuple[int, str]] = []
    if not isinstance(data, dict):
        raise LocatedInputError("a policy must be a mapping (version, name, zones, services …)", source, 1)
    doc = _validate(data, lines, problems)
    if doc is not None:
        policy = _build(doc, data, lines, source, problems)
    if problems:
        problems.sort(key=lambda x: x[0])
        line, msg = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise LocatedInputError(msg + more, source, line)
    return policy


def _plain(node: Any, path: tuple, lines: dict[tuple, int]) -> Any:
    """YAML node → plain data, recording each path's line (1-based)."""
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k, v in node.value:
            key = _scalar(k) if isinstance(k, yaml.ScalarNode) else str(k.value)
            if key in out:
                lines[path + (key, "__dup__")] = k.start_mark.line + 1
            lines[path + (key, "__key__")] = k.start_mark.line + 1
            out[key] = _plain(v, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, path + (i,), lines) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _line(lines: dict[tuple, int], path: tuple) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


# ---------------------------------------------------------------------------------------------
# Schema (pydantic): shapes and types; meaning is checked in _build
# ---------------------------------------------------------------------------------------------


def _models():
    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class ZoneDoc(Strict):
        networks: list[StrictStr] = Field(min_length=1)
        description: StrictStr = ""

    PortSpec = Union[StrictInt, StrictStr]

    class ServiceDoc(Strict):
        name: StrictStr = Field(min_length=1)
        protocol: Union[Literal["tcp", "udp"], list[Literal["tcp", "udp"]]]
        port: PortSpec | None = None
        ports: Union[PortSpec, list[PortSpec], None] = None
        zones: list[StrictStr] = []
        process: StrictStr | None = None
        processes: list[StrictStr] | None = None
        bind: Union[Literal["any", "loopback"], list[StrictStr]] = "any"
        optional: StrictBool = False
        description: StrictStr = ""

    class PolicyDoc(Strict):
        version: StrictInt
        name: StrictStr = Field(min_length=1)
        description: StrictStr = ""
        default: Literal["deny", "allow"] = "deny"
        require_explicit_rules: StrictBool = False
        ignore_processes: list[StrictStr] = []
        zones: dict[StrictStr, Union[list[StrictStr], ZoneDoc]] = Field(min_length=1)
        services: list[ServiceDoc] = []

    return PolicyDoc


_PolicyDoc = None


def _validate(data: dict, lines: dict[tuple, int], problems: list[tuple[int, str]]):
    global _PolicyDoc
    from pydantic import ValidationError

    if _PolicyDoc is None:
        _PolicyDoc = _models()
    try:
        return _PolicyDoc.model_validate(data)
    except ValidationError as e:
        seen: set[tuple] = set()
        for err in e.errors():
            loc = _clean_loc(err["loc"], data)
            if loc in seen:
                continue
            seen.add(loc)
            problems.append((_line(lines, loc if err["type"] != "extra_forbidden" else loc + ("__key__",)),
                             _message(loc, err)))
        return None


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union-branch names from a location (``zones.lan.list[str]`` …)."""
    out: list = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part not in cur and not out[-1:] == [part]:
            # a missing or extra key: keep it as the last element
            if part.isidentifier() and not any(c in part for c in "[]") and part not in ("ZoneDoc", "ServiceDoc"):
                out.append(part)
            break
    return tuple(out)


def _path_text(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "policy"


def _message(loc: tuple, err: dict) -> str:
    where = _path_text(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key (check the spelling; see the policy format in the README)"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind.startswith("literal_error") or kind == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{where}: {err.get('input')!r} is not allowed (expected {expected})"
    if kind in ("int_type", "int_parsing"):
        return f"{where}: expected a whole number, got {err.get('input')!r}"
    if kind in ("string_type",):
        return f"{where}: expected text, got {err.get('input')!r}"
    if kind in ("bool_type",):
        return f"{where}: expected true or false, got {err.get('input')!r}"
    if kind in ("list_type",):
        return f"{where}: expected a list, got {err.get('input')!r}"
    if kind in ("dict_type", "model_type"):
        return f"{where}: expected a mapping, got {err.get('input')!r}"
    if kind in ("too_short",):
        return f"{where}: must not be empty"
    return f"{where}: {err['msg']}"


# ---------------------------------------------------------------------------------------------
# Meaning: CIDRs, ports, zone references, contradictions
# ---------------------------------------------------------------------------------------------


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        try:
            fixed = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid CIDR network ({e})") from None
        raise ValueError(f"{text} has host bits set; did you mean {fixed}?") from None


def _ports(spec: Any) -> tuple[int, int]:
    if isinstance(spec, bool):
        raise ValueError(f"{spec!r} is not a port")
    if isinstance(spec, int):
        lo = hi = spec
    else:
        text = str(spec).strip()
        lo_s, sep, hi_s = text.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ValueError(f"{spec!r} is not a port or a range like 8000-8100") from None
    for p in (lo, hi):
        if not 1 <= p <= 65535:
            raise ValueError(f"{p} is not a valid port (1-65535)")
    if lo > hi:
        raise ValueError(f"range {lo}-{hi} is reversed (write {hi}-{lo})")
    return lo, hi


def _build(doc: Any, data: dict, lines: dict[tuple, int], source: str,
           problems: list[tuple[int, str]]) -> Policy | None:
    def problem(path: tuple, msg: str) -> None:
        problems.append((_line(lines, path), f"{_path_text(path)}: {msg}"))

    if doc.version not in SUPPORTED_VERSIONS:
        problem(("version",), f"unsupported policy version {doc.version} (supported: {', '.join(map(str, SUPPORTED_VERSIONS))})")
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
    services: list[Service] = []
    names: dict[str, int] = {}
    for i, s in enumerate(doc.services):
        path = ("services", i)
        line = _line(lines, path)
        if s.name in names:
            problem(path + ("name",), f"service {s.name!r} is already declared at line {names[s.name]}")
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
                problem(path + ("zones", j), f"unknown zone {z!r} (declared zones: {', '.join(sorted(zone_names))})")
        if s.process is not None and s.processes is not None:
            problem(path, "give process or processes, not both")
        procs = tuple(s.processes or ([s.process] if s.process else []))
        bind: Any = s.bind
        if isinstance(s.bind, list):
            addrs = []
            for j, a in enumerate(s.bind):
                try:
                    addrs.append(ipaddress.ip_address(a))
                except ValueError:
                    problem(path + ("bind", j), f"{a!r} is not an IP address (or use any / loopback)")
            bind = tuple(addrs)
        protocols = s.protocol if isinstance(s.protocol, list) else [s.protocol]
        for proto in dict.fromkeys(protocols):
            for r in ranges:
                services.append(Service(s.name, proto, r, tuple(s.zones), procs, bind, s.optional, line))
    _contradictions(services, problems)
    if problems:
        return None
    return Policy(
        path=source, name=doc.name, zones=tuple(zones), services=tuple(services), default=doc.default,
        require_explicit_rules=doc.require_explicit_rules, ignore_processes=tuple(doc.ignore_processes),
        description=doc.description,
    )


def _contradictions(services: list[Service], problems: list[tuple[int, str]]) -> None:
    """Two entries covering the same protocol/port must say the same thing."""
    for i, a in enumerate(services):
        for b in services[i + 1:]:
            if a.protocol != b.protocol or a.ports[1] < b.ports[0] or b.ports[1] < a.ports[0]:
                continue
            if a.line == b.line:
                continue
            same = (sorted(a.zones), a.processes, a.bind) == (sorted(b.zones), b.processes, b.bind)
            what = "repeats" if same else "contradicts"
            lo, hi = max(a.ports[0], b.ports[0]), min(a.ports[1], b.ports[1])
            ports = f"{lo}" if lo == hi else f"{lo}-{hi}"
            problems.append((b.line or 1, f"service {b.name!r} {what} service {a.name!r} (line {a.line}) "
                                           f"for {a.protocol}/{ports}: declare each port once"))
