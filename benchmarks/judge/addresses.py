"""Move every address of a ruleset into lab space, keeping what the rules can tell apart.

The lab may only talk to 198.18.0.0/15 and fd00::/8, but real rulesets name private (RFC 1918) ranges,
public /32s, documentation prefixes… Every distinct prefix (a bare address is a /32 or /128) found in the
files is a node of a containment tree; the tree is laid out again inside the lab block so that

* a prefix maps to a prefix, a contained prefix to a contained one, disjoint ones to disjoint
  ones, and ranges keep their order (children are placed in address order);
* a subtree that fits keeps its exact size and offsets (a plain shift: a site's /24 with
  .1 and .100-.200 inside stays a /24 with the same host numbers);
* where it does not fit, prefixes shrink — a /8 becomes, say, a /20 — but every region that
  exists in the original (the part of a prefix outside all its sub-prefixes, the space between
  two sibling prefixes) keeps at least one address, and one probe source is chosen in each.

Shrinking is the only semantic change: two addresses of the same region may become one. The
rules themselves cannot tell addresses of one region apart, so the verdicts cannot differ.
Special-purpose addresses keep their meaning and their value (loopback, link-local, multicast,
0.0.0.0/8, 240.0.0.0/4, ::/128, ::1, fe80::/10, ff00::/8, ::ffff:0:0/96) and no probe comes
from them; ``0.0.0.0/0`` and ``::/0`` stay. A special range inside a mapped prefix (127.0.0.0/8
inside 0.0.0.0/1) therefore leaves its parent: such sources are never probed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Iterable, Union

Net = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Addr = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: where the rulesets' prefixes go, and what the lab keeps for itself (interface addresses)
LAB = {4: ipaddress.ip_network("198.18.0.0/16"), 6: ipaddress.ip_network("fd00::/9")}
INFRA = {4: ipaddress.ip_network("198.19.0.0/16"), 6: ipaddress.ip_network("fd80::/9")}
SPECIAL = {
    4: [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4",
                                          "240.0.0.0/4")],
    6: [ipaddress.ip_network(n) for n in ("::/128", "::1/128", "fe80::/10", "ff00::/8", "::ffff:0:0/96")],
}
_GAP = 16  # addresses kept for a region between siblings when there is room

_V6 = r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
_V4 = r"\d{1,3}(?:\.\d{1,3}){3}"
LITERAL = re.compile(
    rf"(?<![\w:.])(?:(?P<v6>{_V6})(?:/(?P<l6>\d{{1,3}}))?(?![\w:.])"
    rf"|(?P<v4>{_V4})(?:/(?P<l4>{_V4}|\d{{1,2}}))?(?![\w.]))"
)


def parse_literal(m: re.Match[str]) -> Net | None:
    """The network a LITERAL match names (None when it is not an address after all)."""
    try:
        if m.group("v6") is not None:
            return ipaddress.IPv6Network(f"{m.group('v6')}/{m.group('l6') or 128}", strict=False)
        length = m.group("l4") or "32"
        return ipaddress.IPv4Network(f"{m.group('v4')}/{length}", strict=False)
    except ValueError:
        return None


def literals(text: str) -> Iterable[Net]:
    for m in LITERAL.finditer(text):
        net = parse_literal(m)
        if net is not None:
            yield net


def is_special(net: Net) -> bool:
    return net.prefixlen == 0 or any(net.subnet_of(s) for s in SPECIAL[net.version])  # type: ignore[arg-type]


@dataclass
class _Node:
    net: Net
    children: list["_Node"] = field(default_factory=list)

    @property
    def bits(self) -> int:
        return self.net.max_prefixlen - self.net.prefixlen

    @property
    def start(self) -> int:
        return int(self.net.network_address)

    @property
    def end(self) -> int:  # exclusive
        return self.start + (1 << self.bits)


@dataclass(frozen=True)
class Region:
    """One probe source: a lab address standing for a region of the original address space."""

    lab: Addr
    real: Addr  # an address of the original region it stands for (for reports)
    inside: str  # the smallest original prefix containing it ("" = none)


@dataclass
class AddressMap:
    prefixes: dict[Net, Net]  # original → lab
    regions: dict[int, list[Region]]  # per IP version

    def lab(self, net: Net) -> Net:
        return self.prefixes.get(net, net)

    def rewrite(self, text: str) -> str:
        """``text`` with every mapped address replaced, keeping bare addresses bare."""

        def swap(m: re.Match[str]) -> str:
            net = parse_literal(m)
            if net is None or net not in self.prefixes:
                return m.group(0)
            new = self.prefixes[net]
            bare = (m.group("l6") if net.version == 6 else m.group("l4")) is None
            if bare and new.prefixlen == new.max_prefixlen:
                return str(new.network_address)
            return str(new)

        return LITERAL.sub(swap, text)


def build_map(texts: Iterable[str]) -> AddressMap:
    """The lab layout for every address in ``texts`` (all files of one ruleset)."""
    found: dict[int, set[Net]] = {4: set(), 6: set()}
    for text in texts:
        for net in literals(text):
            if not is_special(net):
                found[net.version].add(net)
    prefixes: dict[Net, Net] = {}
    regions: dict[int, list[Region]] = {4: [], 6: []}
    for version, nets in found.items():
        root = _tree(version, nets)
        _assign(root, int(LAB[version].network_address), LAB[version].max_prefixlen - LAB[version].prefixlen,
                prefixes, regions[version], is_root=True)
    return AddressMap(prefixes, regions)


def _tree(version: int, nets: set[Net]) -> _Node:
    root = _Node(ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0"))
    stack = [root]
    for net in sorted(nets, key=lambda n: (int(n.network_address), n.prefixlen)):
        node = _Node(net)
        while not net.subnet_of(stack[-1].net):  # type: ignore[arg-type]
            stack.pop()
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _gaps(node: _Node) -> list[int]:
    """Sizes of the original gaps: before the first child, between children, after the last."""
    edges = [node.start] + [x for c in node.children for x in (c.start, c.end)] + [node.end]
    return [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]


def _layout(node: _Node, sizes: list[int], gaps: list[int]) -> tuple[list[int], int]:
    """Children's offsets (address order, aligned) and the total length used."""
    cursor, offsets = 0, []
    for child_bits, gap in zip(sizes, gaps):
        cursor += gap
        align = 1 << child_bits
        cursor = (cursor + align - 1) // align * align
        offsets.append(cursor)
        cursor += align
    return offsets, cursor + gaps[-1]


def _min_bits(node: _Node, memo: dict[int, int]) -> int:
    if id(node) in memo:
        return memo[id(node)]
    if not node.children:
        result = min(node.bits, 2)
    else:
        sizes = [_min_bits(c, memo) for c in node.children]
        gaps = [min(g, 1) for g in _gaps(node)]
        _, used = _layout(node, sizes, gaps)
        result = max(0, (used - 1).bit_length())
    memo[id(node)] = result
    return result


def _assign(node: _Node, base: int, bits: int, out: dict[Net, Net], regions: list[Region],
            is_root: bool = False) -> None:
    """Place ``node`` (and its subtree) at lab block ``base``/``bits``; record a source per region."""
    version = node.net.version
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    width = node.net.max_prefixlen
    if not is_root:
        out[node.net] = cls((base, width - bits))
    if bits == node.bits and not is_root:
        _shift(node, base - node.start, out, regions)
        return
    gaps_real = _gaps(node)
    memo: dict[int, int] = {}
    mins = [_min_bits(c, memo) for c in node.children]
    sizes = [min(c.bits, bits) for c in node.children]
    gaps = [min(g, _GAP) for g in gaps_real]
    while True:
        offsets, used = _layout(node, sizes, gaps)
        if used <= 1 << bits:
            break
        shrinkable = [i for i, (s, m) in enumerate(zip(sizes, mins)) if s > m]
        if shrinkable:
            i = max(shrinkable, key=lambda j: (sizes[j], j))
            sizes[i] -= 1
        elif any(g > 1 for g in gaps):
            gaps = [min(g, 1) for g in gaps]
        else:
            raise ValueError(f"{node.net} has too many sub-prefixes to fit the lab block /{width - bits}")
    # one source in every original gap (the region of this prefix outside its children)
    starts = [0] + [o + (1 << s) for o, s in zip(offsets, sizes)]
    real_starts = [node.start] + [c.end for c in node.children]
    for gap_real, lab_start, real_start in zip(gaps_real, starts, real_starts):
        if gap_real > 0:
            skip = _anycast_skip(version, base + lab_start, gap_real)
            addr = ipaddress.ip_address(base + lab_start + skip) if version == 4 else ipaddress.IPv6Address(base + lab_start + skip)
            real = ipaddress.ip_address(real_start + skip) if version == 4 else ipaddress.IPv6Address(real_start + skip)
            regions.append(Region(addr, real, "" if is_root else str(node.net)))
    for child, offset, size in zip(node.children, offsets, sizes):
        _assign(child, base + offset, size, out, regions)


def _anycast_skip(version: int, lab_start: int, gap: int) -> int:
    """1 to step off an IPv6 address whose interface identifier is zero: that is a prefix's
    subnet-router anycast address, which a forwarding target owns, so the backend's replies to
    such a "client" end at the target (no real client can use it)."""
    return 1 if version == 6 and lab_start & ((1 << 64) - 1) == 0 and gap > 1 else 0


def _shift(node: _Node, delta: int, out: dict[Net, Net], regions: list[Region]) -> None:
    """A subtree that keeps its size: every address moves by ``delta``."""
    version = node.net.version
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    out[node.net] = cls((node.start + delta, node.net.prefixlen))
    starts = [node.start] + [c.end for c in node.children]
    for gap, real_start in zip(_gaps(node), starts):
        if gap > 0:
            skip = _anycast_skip(version, real_start + delta, gap)
            regions.append(Region(make(real_start + delta + skip), make(real_start + skip), str(node.net)))
    for child in node.children:
        _shift(child, delta, out, regions)
