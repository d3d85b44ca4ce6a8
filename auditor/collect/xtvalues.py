"""Option values as iptables (libxtables 1.8) reads them: numbers, ports, addresses, marks.

A restore file means what ``iptables-restore`` makes of it, and iptables reads numbers with C's
``strtoul`` in base 0: ``--dport 026`` is port 22 (octal), ``0x16`` is 22 too, and an IPv4
address may be abbreviated (``-s 198.18`` is 198.18.0.0) or written with octal bytes. Ports of the
``udp``, ``conntrack`` and similar options go through ``getaddrinfo`` instead, which reads
decimal only and keeps the low 16 bits (``--dport 70000`` is port 4464). Reading these the
Python way would give another rule than the one the kernel runs, so this module reproduces the
C behaviour, measured against iptables 1.8.9 (see tests/collect/test_xtvalues.py).

Every function is pure and raises :class:`ValueError` with a short message (the caller adds
file and line). Host names are never resolved: iptables would ask DNS, an offline reader cannot,
so a name is an error that says so.
"""

from __future__ import annotations

import socket

from auditor.untrusted import excerpt

U64 = (1 << 64) - 1
_SPACE = " \t\n\v\f\r"


def quote(text: str) -> str:
    """Input quoted in an error message: at most 40 characters, control characters escaped."""
    return "'" + excerpt(text, 40) + "'"


def _scan_number(text: str, base: int) -> tuple[int, bool, str] | None:
    """The digits C ``strtoul`` would read: (unbounded value, minus sign seen, rest)."""
    i = 0
    while i < len(text) and text[i] in _SPACE:
        i += 1
    negative = False
    if i < len(text) and text[i] in "+-":
        negative = text[i] == "-"
        i += 1
    hex_prefix = text[i:i + 2].lower() == "0x" and text[i + 2:i + 3].lower() in tuple("0123456789abcdef")
    if base == 0:
        base = 16 if hex_prefix else 8 if text[i:i + 1] == "0" else 10
    if base == 16 and hex_prefix:
        i += 2
    digits = "0123456789abcdef"[:base]
    start = i
    while i < len(text) and text[i].lower() in digits:
        i += 1
    if i == start:
        return None
    return int(text[start:i], base), negative, text[i:]


def strtoul(text: str, base: int = 0) -> tuple[int, str] | None:
    """C ``strtoul``: (value, unparsed rest), or ``None`` when no digit was read. A minus sign
    wraps as in C (``-1`` → 2**64-1); an overflow saturates at 2**64-1."""
    scanned = _scan_number(text, base)
    if scanned is None:
        return None
    value, negative, rest = scanned
    if value > U64:
        return U64, rest
    return ((-value) & U64 if negative else value), rest


def xt_uint(text: str, lo: int, hi: int, *, base: int = 0) -> int | None:
    """``xtables_strtoul``: the whole string is one unsigned number in [lo, hi] (no minus sign,
    no overflow)."""
    if text.isascii() and text.isdigit() and (base == 10 or text[0] != "0" or text == "0"):
        value = int(text)  # plain decimal: the common case, read directly
        return value if lo <= value <= hi else None
    scanned = _scan_number(text, base)
    if scanned is None or scanned[1] or scanned[2]:
        return None
    return scanned[0] if lo <= scanned[0] <= hi else None


def xt_uint_prefix(text: str, lo: int, hi: int) -> tuple[int, str] | None:
    """``xtables_strtoui`` with an end pointer: a leading number in [lo, hi] and the rest."""
    scanned = _scan_number(text, 0)
    if scanned is None or scanned[1] or not lo <= scanned[0] <= hi:
        return None
    return scanned[0], scanned[2]


def service_port(name: str, proto: str | None) -> int | None:
    """A port from ``/etc/services`` (as ``getservbyname``), or ``None``."""
    try:
        return socket.getservbyname(name, proto) if proto else socket.getservbyname(name)
    except (OSError, UnicodeError, ValueError):
        return None


def parse_port(text: str, proto: str | None) -> int:
    """``xtables_parse_port`` (tcp, multiport, …): a base-0 number 0–65535 or a service name."""
    value = xt_uint(text, 0, 65535)
    if value is None:
        value = service_port(text, proto) if text else None
    if value is None:
        raise ValueError(f"invalid port/service {quote(text)}")
    return value


def parse_port_range(text: str, proto: str | None) -> tuple[int, int]:
    """``a``, ``a:b``, ``:b``, ``a:`` as the tcp match reads them (min > max is an error)."""
    if ":" not in text:
        p = parse_port(text, proto)
        return p, p
    lo_s, hi_s = text.split(":", 1)
    lo = parse_port(lo_s, proto) if lo_s else 0
    hi = parse_port(hi_s, proto) if hi_s else 65535
    if lo > hi:
        raise ValueError(f"invalid port range {quote(text)} (min > max)")
    return lo, hi


def getaddrinfo_port(text: str) -> int:
    """A port as ``getaddrinfo(NULL, text)`` gives it. glibc reads a decimal ``strtoul`` into an
    ``int``: a negative int (``-2``, ``2147483648``, an overflow) means "not a number" and the
    service-name lookup fails; otherwise the low 16 bits are the port (``70000`` is 4464)."""
    parsed = strtoul(text, 10)
    if parsed is not None and not parsed[1]:
        number = parsed[0] & 0xFFFFFFFF
        if number < 1 << 31:
            return number & 0xFFFF
    elif text == "":
        return 0
    port = service_port(text, None) if parsed is None or parsed[1] else None
    if port is None:
        raise ValueError(f"port {quote(text)} does not resolve to anything")
    return port


def parse_portrc(text: str) -> tuple[int, int]:
    """XTTYPE_PORTRC (udp, conntrack, dccp ports): ``a[:b]`` with ``getaddrinfo`` ports. iptables
    1.8.9 accepts a reversed range (``5:1``), which then never matches."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ValueError(f"too many components in port range {quote(text)}")
    values = [0, 65535]
    for i, part in enumerate(parts):
        if part != "":
            values[i] = getaddrinfo_port(part)
    if len(parts) == 1:
        values[1] = values[0]
    return values[0], values[1]


def parse_uint_range(text: str, hi: int) -> tuple[int, int]:
    """XTTYPE_UINT*RC: ``a[:b]``, each base 0, the second not below the first."""
    parts = text.split(":")
    if len(parts) > 2:
        raise ValueError(f"too many components in {quote(text)}")
    values = [0, hi]
    lo = 0
    for i, part in enumerate(parts):
        if part == "":
            values[i] = hi if i == 1 else lo
            continue
        v = xt_uint(part, lo, hi)
        if v is None:
            raise ValueError(f"bad value {quote(part)}, or out of range ({lo}-{hi})")
        values[i] = lo = v
    if len(parts) == 1:
        values[1] = values[0]
    return values[0], values[1]


def parse_mark_mask(text: str) -> tuple[int, int]:
    """``value[/mask]``, 32-bit, base 0 (``0x10/0xff``); the mask defaults to all ones."""
    head = xt_uint_prefix(text, 0, 0xFFFFFFFF)
    if head is None:
        raise ValueError(f"bad mark value {quote(text)}")
    value, rest = head
    if rest == "":
        return value, 0xFFFFFFFF
    if not rest.startswith("/"):
        raise ValueError(f"trailing garbage after mark value {quote(text)}")
    mask = xt_uint_prefix(rest[1:], 0, 0xFFFFFFFF)
    if mask is None or mask[1]:
        raise ValueError(f"bad mark mask {quote(text)}")
    return value, mask[0]


def parse_protocol(text: str) -> int:
    """``xtables_parse_protocol``: a number 0–255, a name iptables knows, or /etc/protocols."""
    number = xt_uint(text, 0, 255)
    if number is not None:
        return number
    known = _CHAIN_PROTOS.get(text)
    if known is not None:
        return known
    try:
        return socket.getprotobyname(text)
    except (OSError, UnicodeError, ValueError):
        raise ValueError(f"unknown protocol {quote(text)}") from None


_CHAIN_PROTOS = {"tcp": 6, "sctp": 132, "udp": 17, "udplite": 136, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58,
                 "esp": 50, "ah": 51, "mobility-header": 135, "ipv6-mh": 135, "mh": 135, "dccp": 33,
                 "ipcomp": 108, "all": 0}
#: Protocol number → the match extension ``-p`` loads implicitly (xtables_chain_protos).
PROTO_MATCH = {6: "tcp", 132: "sctp", 17: "udp", 136: "udplite", 1: "icmp", 58: "icmp6", 50: "esp", 51: "ah",
               135: "mh", 33: "dccp", 108: "ipcomp"}


# ---------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------


def numeric_address(text: str, version: int) -> int | None:
    """``xtables_numeric_to_ipaddr`` / ``xtables_numeric_to_ip6addr`` (as iprange reads)."""
    return _ipv4_numeric(text, is_mask=False) if version == 4 else _ipv6_numeric(text)


def _ipv4_numeric(text: str, *, is_mask: bool) -> int | None:
    """``__numeric_to_ipaddr``: up to four base-0 bytes; fewer are completed with zeros
    (``198.18`` → 198.18.0.0) except for masks."""
    text = text[:19]  # the C code copies at most 19 characters
    parts = text.split(".")
    if len(parts) > 4:
        parts = parts[:3] + [".".join(parts[3:])]
    if len(parts) < 4 and is_mask:
        return None
    out = []
    for part in parts:
        byte = xt_uint(part, 0, 255)
        if byte is None:
            return None
        out.append(byte)
    out += [0] * (4 - len(out))
    return int.from_bytes(bytes(out), "big")


def _ipv6_numeric(text: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError, UnicodeError):
        return None


def _not_found(name: str) -> ValueError:
    return ValueError(f"host/network {quote(name)} not found (fwaudit does not resolve host names)")


def _ipv4_mask(text: str | None) -> int:
    if text is None:
        return 0xFFFFFFFF
    dotted = _ipv4_numeric(text, is_mask=True)
    if dotted is not None:
        return dotted
    bits = xt_uint(text, 0, 32)
    if bits is None:
        raise ValueError(f"invalid mask {quote(text)}")
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0


def _ipv6_mask(text: str | None) -> int:
    full = (1 << 128) - 1
    if text is None:
        return full
    addr = _ipv6_numeric(text)
    if addr is not None:
        return addr
    bits = xt_uint(text, 0, 128)
    if bits is None:
        raise ValueError(f"invalid mask {quote(text)}")
    return (full << (128 - bits)) & full if bits else 0


def parse_addresses(text: str, version: int) -> list[tuple[int, int]]:
    """``-s``/``-d`` (``xtables_ipparse_multiple``): comma-separated ``addr[/mask]`` →
    (address & mask, mask) pairs. A zero mask ignores the name (``any/0``)."""
    out = []
    for item in text.split(","):
        item = item.lstrip(_SPACE)
        if len(item) > 255:
            raise ValueError("host name too long")
        addr_s, slash, mask_s = item.rpartition("/")
        if not slash:
            addr_s, mask_s = item, None  # type: ignore[assignment]
        mask = _ipv4_mask(mask_s) if version == 4 else _ipv6_mask(mask_s)
        if mask == 0:
            out.append((0, 0))
            continue
        if version == 4:
            # xtables' own dotted reader first, then getaddrinfo's (inet_aton: "70000", "1.70000")
            addr = _ipv4_numeric(addr_s, is_mask=False)
            addr = _inet_aton(addr_s) if addr is None else addr
        else:
            addr = _ipv6_numeric(addr_s)
        if addr is None:
            other = _ipv6_numeric(addr_s) if version == 4 else _ipv4_numeric(addr_s, is_mask=False)
            if other is not None and ("." in addr_s or ":" in addr_s):
                raise ValueError(f"IPv{10 - version} address {quote(addr_s)} in an IPv{version} ruleset")
            raise _not_found(addr_s)
        out.append((addr & mask, mask))
    return out


def _inet_aton(text: str) -> int | None:
    """glibc's ``inet_aton`` as getaddrinfo applies it to the whole string (``198.18`` is 198.0.0.18)."""
    if not text or any(c in _SPACE for c in text):
        return None
    try:
        return int.from_bytes(socket.inet_aton(text), "big")
    except (OSError, ValueError, UnicodeError):
        return None


def parse_host(text: str, version: int) -> int:
    """XTTYPE_HOST: one numeric address of the family (no mask)."""
    if version == 4:
        addr = _inet_aton(text)
        if addr is None:
            raise _not_found(text)
        return addr
    addr = _ipv6_numeric(text)
    if addr is None:
        raise _not_found(text)
    return addr


def parse_hostmask(text: str, version: int) -> tuple[int, int]:
    """XTTYPE_HOSTMASK: ``addr[/len]`` (or a dotted mask): (address & mask, mask)."""
    addr_s, slash, plen = text.partition("/")
    addr = parse_host(addr_s, version)
    bits = 32 if version == 4 else 128
    full = (1 << bits) - 1
    if not slash:
        return addr, full
    length = xt_uint(plen, 0, bits)
    if length is not None:
        mask = (full << (bits - length)) & full if length else 0
    else:
        numeric = _ipv4_numeric(plen, is_mask=True) if version == 4 else _ipv6_numeric(plen)
        if numeric is None:
            raise ValueError(f"bad prefix length or mask {quote(plen)}")
        mask = numeric
    return addr & mask, mask


def mask_to_range(addr: int, mask: int, version: int) -> tuple[int, int] | None:
    """The address range an (address, mask) pair covers, or ``None`` for a non-contiguous mask
    (``1.2.3.4/255.0.255.0``), which no range can express."""
    bits = 32 if version == 4 else 128
    full = (1 << bits) - 1
    host = full & ~mask
    if host & (host + 1):
        return None
    return addr & mask, (addr & mask) | host
