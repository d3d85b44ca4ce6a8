"""Carrying packets through hooks and chains: the machinery under every leg of a conversation.

A :class:`Region` is a product of interval sets — client addresses × the ports the client chose —
together with the concrete state the packets in it have reached (marks, NAT, conntrack state,
the rules that let them through so far). Each rule splits a region into the part it matches and the
part it does not, so the cost grows with the number of rules and of distinct outcomes, never with
65,535 × sources.

The walker knows how one packet crosses one hook: the hook's base chains in kernel order (see
:mod:`auditor.engine.order`), conntrack at -200, the nat core's slot, ``accept`` ending only its
base chain, ``drop``/``reject`` ending the packet. Which packets travel which hooks — the
conversation — is :mod:`auditor.engine.conversation`'s business. Packets that end (dropped,
rejected, undecidable) are collected as :class:`Terminal` records for the conversation to judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, cast

from auditor.engine import intervals as iv
from auditor.engine.conditions import (
    AddressFacts,
    Assumed,
    Cond,
    Masked,
    Not,
    PacketState,
    Space,
    Uncertain,
    condition,
)
from auditor.engine.intervals import IntervalSet
from auditor.engine.order import (
    CONNTRACK,
    CONNTRACK_PRIORITY,
    NAT_CORE,
    NAT_CORE_PRIORITY,
    Builtin,
    Member,
    Slot,
    hook_slots,
)
from auditor.model.host import HostContext
from auditor.model.ruleset import (
    Chain,
    EffectStatement,
    MarkCopyStatement,
    MarkStatement,
    NatMapStatement,
    NatStatement,
    NotrackStatement,
    Origin,
    Range,
    Rule,
    Ruleset,
    SetElementMatch,
    Table,
    UnknownStatement,
    Verdict,
    VerdictMap,
    format_address_range,
)

MAX_DEPTH = 64  # the kernel refuses deeper jump stacks / loops
ALL_MARK = 0xFFFFFFFF
_TRACKED = ("new", "established", "related")

#: Which ordering was chosen for each ambiguous slot: (hook, effective priority) → members.
#: The order chosen for each slot whose order cannot be read, by (hook, the slot's index on it).
Orders = dict[tuple[str, int], tuple[Member | Builtin, ...]]


@dataclass(frozen=True)
class Region:
    saddr: IntervalSet  # client addresses
    dport: IntervalSet  # the ports the client chose
    state: PacketState
    trail: tuple[Origin, ...] = ()  # rules that let this leg's packet through so far
    legs: tuple[tuple[str, tuple[Origin, ...]], ...] = ()  # finished legs and their rules
    path: str = "input"
    notes: tuple[str, ...] = ()  # assumptions made on the way (stated in the reason)


@dataclass(frozen=True)
class Terminal:
    """A packet that did not get through: dropped, rejected (``reject`` is the verdict, for the
    answer packet), or undecidable."""

    region: Region
    verdict: str
    origins: tuple[Origin, ...]
    reason: str | None
    reject: Verdict | None = None


class Walker:
    """Carries regions of one IP version through hooks; collects what ends on the way."""

    def __init__(self, ruleset: Ruleset, host: HostContext, facts: AddressFacts, version: int,
                 orders: Orders | None = None) -> None:
        self.ruleset = ruleset
        self.host = host
        self.facts = facts
        self.version = version
        self.orders = orders or {}
        self.terminal: list[Terminal] = []
        self._slots: dict[tuple[str, str | None], list[Slot]] = {}

    def take_terminal(self) -> list[Terminal]:
        out, self.terminal = self.terminal, []
        return out

    # -- hooks ------------------------------------------------------------------------------

    def slots(self, hook: str, device: str | None = None) -> list[Slot]:
        key = (hook, device)
        found = self._slots.get(key)
        if found is None:
            found = self._slots[key] = hook_slots(self.ruleset, hook, self.version, device)
        return found

    def hook(self, hook: str, regions: list[Region]) -> list[Region]:
        """Every base chain of ``hook`` in kernel order; returns the regions that got through."""
        if hook in ("ingress", "egress"):
            out: list[Region] = []
            by_device: dict[str | None, list[Region]] = {}
            for r in regions:
                by_device.setdefault(r.state.iif if hook == "ingress" else r.state.oif, []).append(r)
            for device, group in by_device.items():
                out += self._hook(hook, device, group)
            return out
        return self._hook(hook, None, regions)

    def _hook(self, hook: str, device: str | None, regions: list[Region]) -> list[Region]:
        tracks = hook in ("prerouting", "output")  # where the conntrack hook (-200) sits
        core = NAT_CORE_PRIORITY.get(hook)
        core_done = core is None
        for index, slot in enumerate(self.slots(hook, device)):
            if not regions:
                return []
            if tracks and slot.priority >= CONNTRACK_PRIORITY and not slot.conntrack:
                regions, tracks = [self._conntrack(r) for r in regions], False
            nat_slot = any(m.nat for m in slot.members)
            if nat_slot and core_done and slot.priority == core:
                continue  # its nat chains already ran with the core, at its place in a filter slot
            if not core_done and slot.priority >= cast(int, core) and not nat_slot and not slot.nat_core:
                regions, core_done = [self._nat_core(hook, r) for r in regions], True
            # idle chains (empty, accepting) change nothing and are skipped
            members = self.orders.get((hook, index), slot.members) if slot.ambiguous else slot.members
            for m in members:
                if not regions:
                    return []
                if m is CONNTRACK:  # its place among chains at its own priority
                    if tracks:
                        regions, tracks = [self._conntrack(r) for r in regions], False
                elif m is NAT_CORE:  # its place among filter chains at its priority
                    regions, core_done = self._core(hook, device, regions), True
                else:
                    regions = self._member(hook, cast(Member, m), regions)
        if tracks:
            regions = [self._conntrack(r) for r in regions]
        if not core_done:
            regions = [self._nat_core(hook, r) for r in regions]
        return regions

    def _member(self, hook: str, m: Member, regions: list[Region]) -> list[Region]:
        if not m.nat:
            return self.run_base(m.table, m.chain, regions, nat=False)
        eligible = [r for r in regions if _nat_eligible(hook, r.state)]
        others = [r for r in regions if not _nat_eligible(hook, r.state)]
        return others + self.run_base(m.table, m.chain, eligible, nat=True)

    def _core(self, hook: str, device: str | None, regions: list[Region]) -> list[Region]:
        """The nat core at its place: packets of NATed connections re-addressed, then the hook's
        nat chains (at the core's slot, by their own priority) for first packets."""
        regions = [self._nat_core(hook, r) for r in regions]
        for index, slot in enumerate(self.slots(hook, device)):
            if slot.priority == NAT_CORE_PRIORITY[hook] and any(m.nat for m in slot.members):
                members = self.orders.get((hook, index), slot.members) if slot.ambiguous else slot.members
                for m in members:
                    if isinstance(m, Member):
                        regions = self._member(hook, m, regions)
        return regions

    @staticmethod
    def _conntrack(r: Region) -> Region:
        s = r.state
        if s.ct != "none":
            return r
        return replace(r, state=replace(s, ct="untracked" if s.notrack else s.tracked_as))

    @staticmethod
    def _nat_core(hook: str, r: Region) -> Region:
        """What the nat core does to a packet of an existing connection at its slot: the client's
        later packets get the connection's DNAT applied in prerouting, replies get it undone in
        postrouting, and replies of a source-NATed connection are re-addressed to the client."""
        s = r.state
        if s.ct not in ("established", "related"):
            return r
        if hook == "prerouting" and not s.reply and s.dnat and s.nat_to is not None:
            return replace(r, state=replace(s, daddr=s.nat_to[0], dport=s.nat_to[1]))
        if hook in ("prerouting", "output") and s.reply and s.client_hidden:
            return replace(r, state=replace(s, client_hidden=False))
        if hook == "postrouting" and s.reply and s.dnat:
            return replace(r, state=replace(s, daddr=s.orig_daddr, dport=None))
        return r

    # -- chains -----------------------------------------------------------------------------

    def run_base(self, table: Table, chain: Chain, regions: list[Region], *, nat: bool) -> list[Region]:
        accepted, fell = self._run_chain(table, chain, regions, 0, nat)
        policy_origin = policy_origin_of(table, chain)
        for r in fell:
            if chain.policy == "drop":
                self.finish(r, "drop", (policy_origin,), "no rule matched; chain policy drop")
            elif chain.rules and not nat:
                accepted.append(replace(r, trail=r.trail + (policy_origin,)))
            else:
                accepted.append(r)
        return accepted

    def _run_chain(
        self, table: Table, chain: Chain, regions: list[Region], depth: int, nat: bool
    ) -> tuple[list[Region], list[Region]]:
        """Returns (accepted, returned-or-fell-through) regions; terminal ones are recorded."""
        accepted: list[Region] = []
        returned: list[Region] = []
        live = regions
        for rule in chain.rules:
            if not live:
                break
            nxt: list[Region] = []
            for region in live:
                matched, unmatched, uncertain = self._split_rule(region, rule)
                nxt.extend(unmatched)
                for m in matched:
                    if uncertain is None:
                        self._statements(table, rule, m, depth, nat, nxt, accepted, returned)
                    elif _fate_neutral(rule):
                        nxt.append(m)
                    else:
                        self.finish(m, "indeterminate", (rule.origin,), uncertain)
            live = merge(nxt) if len(nxt) > 4 else nxt
        returned.extend(live)
        return accepted, returned

    def _split_rule(self, region: Region, rule: Rule) -> tuple[list[Region], list[Region], str | None]:
        parts = [region]
        out: list[Region] = []
        reason: str | None = None
        for m in rule.matches:
            c = condition(m, region.state, self.facts)
            if isinstance(c, Assumed):
                parts = [_noted(p, c.note) for p in parts]
                if not c.holds:
                    return [], out + parts, None
                continue
            if c is True:
                continue
            if c is False:
                return [], out + parts, None
            if isinstance(c, Uncertain):
                reason = reason or c.reason
                continue
            kept: list[Region] = []
            for p in parts:
                try:
                    i, o = split(p, c)
                except Fragmented:
                    reason = reason or Fragmented.reason
                    kept.append(p)
                    continue
                kept += i
                out += o
            parts = kept
            if not parts:
                return [], out, None
        return parts, out, reason

    def _statements(
        self, table: Table, rule: Rule, r: Region, depth: int, nat: bool,
        nxt: list[Region], accepted: list[Region], returned: list[Region],
    ) -> None:
        for st in rule.statements:
            if isinstance(st, EffectStatement):
                continue
            if isinstance(st, MarkStatement):
                r = _set_mark(r, st.kind, lambda old, st=st: (old & ~st.clear & ALL_MARK) ^ st.xor)  # type: ignore[misc]  # a lambda with defaults
                continue
            if isinstance(st, MarkCopyStatement):
                source = r.state.mark if st.source == "meta" else r.state.ctmark
                r = _set_mark(r, st.target, lambda old, st=st, v=source: ((old & st.keep) ^ (v & st.take)) & ALL_MARK)  # type: ignore[misc]  # a lambda with defaults
                continue
            if isinstance(st, NotrackStatement):
                if r.state.ct == "none":
                    r = replace(r, state=replace(r.state, notrack=True))
                continue
            if isinstance(st, (NatStatement, NatMapStatement)):
                if st.version not in (None, self.version):
                    # `dnat ip6 to …` met by an IPv4 packet in an inet chain: nft_nat_inet_eval
                    # does nothing and the rule goes on (measured: the next rule's DNAT applies)
                    continue
                self._nat_statement(st, r, rule, nat, nxt, accepted)
                return
            if isinstance(st, Verdict):
                self._verdict(table, st, rule, r, depth, nat, nxt, accepted, returned)
                return
            if isinstance(st, VerdictMap):
                self._vmap(table, st, rule, r, depth, nat, nxt, accepted, returned)
                return
            if isinstance(st, UnknownStatement):
                self.finish(r, "indeterminate", (rule.origin,), f"unsupported statement '{st.text}'")
                return
            self.finish(r, "indeterminate", (rule.origin,), f"unsupported statement {type(st).__name__}")
            return
        nxt.append(r)

    # -- NAT --------------------------------------------------------------------------------

    def _nat_statement(self, st: NatStatement | NatMapStatement, r: Region, rule: Rule, nat: bool,
                       nxt: list[Region], accepted: list[Region]) -> None:
        if st.kind in ("snat", "masquerade"):
            if nat:
                r = replace(r, state=replace(r.state, snat=True))
            accepted.append(r)
            return
        if not nat:
            self.finish(r, "indeterminate", (rule.origin,), f"{st.kind} outside a nat chain")
            return
        if isinstance(st, NatStatement):
            self._dnat(st.kind, st.address, st.ports, r, rule, accepted)
            return
        entries = st.entries

        def translate(i: int, part: Region) -> None:
            _, address, ports = entries[i]
            self._dnat(st.kind, address, ports, part, rule, accepted)

        missed = self._lookup(st.set_name or "map", st.fields, [e[0] for e in entries], st.version, rule, r,
                              translate)
        nxt.extend(missed)  # a key missing from the map: the statement breaks, the rule does not match

    def _dnat(self, kind: str, address: tuple[int, int] | None,
              ports: tuple[int, int] | None, r: Region, rule: Rule, accepted: list[Region]) -> None:
        """DNAT/REDIRECT. The kernel sets IPS_DST_NAT (``ct status dnat``) only when the tuple
        really changes; a mapping onto itself leaves the connection un-NATed (but done)."""
        s = r.state
        if kind == "redirect":
            addr = primary_address(self.host, s.iif, self.version)
            if addr is None:
                # nf_nat_redirect_ipv4/6: no address of the family on the arrival interface
                # means NF_DROP; offline the declared addresses may not be all of them
                family = f"IPv{self.version}"
                if self.host.complete:
                    self.finish(r, "drop", r.trail + (rule.origin,),
                                f"redirect: {s.iif} has no {family} address to redirect to")
                else:
                    self.finish(r, "indeterminate", r.trail + (rule.origin,),
                                f"redirect: no {family} address of {s.iif} declared (--interface)")
                return
            daddr = (addr, addr)
        else:
            daddr = address if address is not None else s.daddr
        new_port = ports if ports is not None else s.dport
        trail = r.trail + (rule.origin,)
        # The kernel maps only a tuple not already in the target range (get_unique_tuple): a
        # port inside the new port range keeps its connection un-NATed (measured: `dnat to
        # :8000-8100` leaves port 8050 alone). Not so an address: a range of several is always
        # chosen from by a hash of the client's address (find_best_ips_proto; measured: under
        # `dnat to .1-.5`, a connection to .3 keeps .3 for some clients, is moved for others).
        chosen = daddr[0] != daddr[1]
        if chosen or not daddr[0] <= s.daddr[0] <= s.daddr[1] <= daddr[1]:
            changed = [r]
            same: list[Region] = []
        elif ports is None or ports == s.dport:
            changed, same = [], [r]
        elif s.dport is None:
            # the client's port is symbolic: where it already is in the target range, nothing changes
            same, changed = split(r, Space(dport=(ports,)))
        else:
            changed, same = [r], []
        for x in same:
            accepted.append(replace(x, state=replace(x.state, nat_done=True), trail=trail))
        for x in changed:
            xs = replace(x.state, daddr=daddr, dport=new_port, dnat=True, nat_done=True,
                         nat_to=(daddr, new_port))
            accepted.append(replace(x, state=xs, trail=trail))

    # -- verdicts ---------------------------------------------------------------------------

    def _verdict(
        self, table: Table, v: Verdict, rule: Rule, r: Region, depth: int, nat: bool,
        nxt: list[Region], accepted: list[Region], returned: list[Region],
    ) -> None:
        if v.kind == "accept":
            accepted.append(replace(r, trail=r.trail + (rule.origin,)))
        elif v.kind == "drop":
            self.finish(r, "drop", (rule.origin,), None)
        elif v.kind == "reject":
            self.finish(r, "reject", (rule.origin,), None, reject=v)
        elif v.kind == "return":
            returned.append(r)
        elif v.kind == "continue":
            nxt.append(r)
        elif v.kind == "queue":
            self.finish(r, "indeterminate", (rule.origin,), "queued to a userspace program")
        else:  # jump / goto
            target = table.chain(v.chain or "")
            if target is None:
                self.finish(r, "indeterminate", (rule.origin,), f"{v.kind} to missing chain {v.chain!r}")
                return
            if depth >= MAX_DEPTH:
                self.finish(r, "indeterminate", (rule.origin,), "chain jumps nest too deep (loop?)")
                return
            acc, ret = self._run_chain(table, target, [r], depth + 1, nat)
            accepted.extend(acc)
            (nxt if v.kind == "jump" else returned).extend(ret)

    def _vmap(
        self, table: Table, vm: VerdictMap, rule: Rule, r: Region, depth: int, nat: bool,
        nxt: list[Region], accepted: list[Region], returned: list[Region],
    ) -> None:
        def decide(i: int, part: Region) -> None:
            self._verdict(table, vm.entries[i][1], rule, part, depth, nat, nxt, accepted, returned)

        missed = self._lookup(vm.set_name or "vmap", vm.fields, [e[0] for e in vm.entries], vm.version, rule, r,
                              decide)
        nxt.extend(missed)  # a map miss continues with the next rule

    def _lookup(self, name: str, fields: tuple[str, ...], keys: list[tuple[Range | str, ...]], version: int | None, rule: Rule,
                r: Region, hit: Callable[[int, Region], None]) -> list[Region]:
        """A map lookup, key by key in order: each part of ``r`` whose key is ``keys[i]`` goes to
        ``hit(i, part)``; returns the parts no key matched. A key the model cannot decide ends
        every part still looking as indeterminate (nothing is returned)."""
        rest = [r]
        for i, key in enumerate(keys):
            c = condition(SetElementMatch(name, fields, (key,), version), r.state, self.facts)
            if isinstance(c, Uncertain):
                for x in rest:
                    self.finish(x, "indeterminate", (rule.origin,), c.reason)
                return []
            if c is False or isinstance(c, Assumed):
                continue
            remaining: list[Region] = []
            for x in rest:
                inside, outside = split(x, c) if c is not True else ([x], [])
                remaining += outside
                for part in inside:
                    hit(i, part)
            rest = remaining
            if not rest:
                return []
        return rest

    def finish(self, r: Region, verdict: str, origins: tuple[Origin, ...], reason: str | None,
               reject: Verdict | None = None) -> None:
        self.terminal.append(Terminal(r, verdict, origins, reason, reject))

    # -- routing ----------------------------------------------------------------------------

    def route_request(self, regions: list[Region]) -> tuple[list[Region], list[Region]]:
        """Local delivery or forwarding of the client's packets, by their (rewritten) destination."""
        local: list[Region] = []
        forwarded: list[Region] = []
        for r in regions:
            lo, hi = r.state.daddr
            if lo != hi:
                self.finish(r, "indeterminate", r.trail, "DNAT to an address range: the kernel chooses")
                continue
            if iv.contains_point(self.facts.local, lo):
                local.append(replace(r, path="input"))
                continue
            addr = format_address_range(self.version, (lo, lo))
            forwarding = self.host.forwarding_v4 if self.version == 4 else self.host.forwarding_v6
            if forwarding is False:
                if self.version == 4:  # measured: silently dropped
                    self.finish(r, "drop", r.trail, f"{addr} is not local and the host does not forward")
                else:  # measured: IPv6 answers with an ICMPv6 no-route error
                    self._unroutable(r, f"{addr} is not local and the host does not forward")
                continue
            if forwarding is None:
                self.finish(r, "indeterminate", r.trail, f"{addr} is not local and whether the host forwards is unknown")
                continue
            oif = route_device(self.host, self.version, lo)
            if oif is None:
                if self.host.complete:
                    self._unroutable(r, f"no route to {addr}")
                else:
                    self.finish(r, "indeterminate", r.trail,
                                f"whether the host has a route to {addr} is unknown offline (not in a declared subnet)")
                continue
            forwarded.append(replace(r, state=replace(r.state, oif=oif), path="forward"))
        return local, forwarded

    def _unroutable(self, r: Region, why: str) -> None:
        """Routing refuses the packet and the kernel answers with an ICMP error (``ip_error``,
        ``ip6_pkt_drop``), itself a packet that must get out. Its connection was never confirmed,
        so conntrack cannot relate the error to it: the answer is *invalid* to the rules."""
        kind = "icmp net-unreachable" if self.version == 4 else "icmpv6 no-route"
        unconfirmed = replace(r, state=replace(r.state, ct="invalid"))
        self.finish(unconfirmed, "reject", r.trail, f"{why}: the host answers {kind}",
                    reject=Verdict("reject", detail=kind))

    def split_by_client_route(self, r: Region) -> list[tuple[Region, str | None]]:
        """The region cut by the interface replies to each client address leave by."""
        out: list[tuple[Region, str | None]] = []
        for space, device in self.facts.routes:
            part = iv.intersect(r.saddr, space)
            if part:
                out.append((replace(r, saddr=part), device))
        return out


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _noted(r: Region, note: str) -> Region:
    return r if note in r.notes else replace(r, notes=r.notes + (note,))


def _set_mark(r: Region, kind: str, update: Callable[[int], int]) -> Region:
    """Packet marks always change; a connection mark only where there is a connection."""
    s = r.state
    if kind == "meta":
        return replace(r, state=replace(s, mark=update(s.mark)))
    if s.ct in _TRACKED:
        return replace(r, state=replace(s, ctmark=update(s.ctmark)))
    return r


def _nat_eligible(hook: str, s: PacketState) -> bool:
    """nat chains see only a connection's first packet, once per manip type: destination NAT in
    prerouting/output, source NAT in input/postrouting (``nf_nat_initialized`` per type)."""
    if s.ct != "new":
        return False
    return not s.nat_done if hook in ("prerouting", "output") else not s.snat


def _fate_neutral(rule: Rule) -> bool:
    """True when running the rule or not makes no difference to the packet's fate."""
    return all(
        isinstance(s, EffectStatement) or (isinstance(s, Verdict) and s.kind == "continue")
        for s in rule.statements
    )


def policy_origin_of(table: Table, chain: Chain) -> Origin:
    policy = chain.policy or "accept"
    text: str
    syntax: Literal["iptables", "nft"]
    if table.backend in ("iptables-legacy", "iptables-nft") or (
        table.backend == "file" and table.family in ("ip", "ip6") and chain.name.isupper()
    ):
        text, syntax = f":{chain.name} {policy.upper()}", "iptables"
    else:
        text, syntax = f"policy {policy}", "nft"
    return Origin(
        backend=table.backend, family=table.family, table=table.name, chain=chain.name,
        position=0, text=text, syntax=syntax, file=table.source, line=chain.line,
    )


class Fragmented(Exception):
    """A :class:`Masked` condition that would cut the region into too many pieces."""

    reason = "the address mask cuts these sources into too many pieces to list"


def split(r: Region, c: Cond) -> tuple[list[Region], list[Region]]:
    """Split a region by a symbolic condition into (holds, does not hold); raises
    :class:`Fragmented` for a mask the region's addresses cannot be listed under."""
    if isinstance(c, Not):
        i, o = split(r, c.inner)
        return o, i
    if isinstance(c, Masked):
        held = iv.masked(r.saddr, c.mask, c.value, c.bits)
        if held is None:
            raise Fragmented
        return split(r, Space(saddr=held))
    if isinstance(c, Space):
        s_in = r.saddr if c.saddr is None else iv.intersect(r.saddr, c.saddr)
        d_in = r.dport if c.dport is None else iv.intersect(r.dport, c.dport)
        if not s_in or not d_in:
            return [], [r]
        outside: list[Region] = []
        if c.saddr is not None:
            s_out = iv.subtract(r.saddr, c.saddr)
            if s_out:
                outside.append(replace(r, saddr=s_out))
        if c.dport is not None:
            d_out = iv.subtract(r.dport, c.dport)
            if d_out:
                outside.append(replace(r, saddr=s_in, dport=d_out))
        return [replace(r, saddr=s_in, dport=d_in)], outside
    assert isinstance(c, tuple), c
    matched: list[Region] = []
    remaining = [r]
    for sp in _coalesce(c):
        nxt: list[Region] = []
        for x in remaining:
            i, o = split(x, sp)
            matched += i
            nxt += o
        remaining = nxt
        if not remaining:
            break
    return matched, remaining


def _coalesce(spaces: tuple[Space, ...]) -> list[Space]:
    """Merge set elements that share one dimension, so a 10,000-address set is one split."""
    if any(s.saddr is None and s.dport is None for s in spaces):
        return [Space()]
    saddr_only: IntervalSet = ()
    dport_only: IntervalSet = ()
    by_dport: dict[IntervalSet, IntervalSet] = {}
    for s in spaces:
        if s.dport is None:
            saddr_only = iv.union(saddr_only, s.saddr or ())
        elif s.saddr is None:
            dport_only = iv.union(dport_only, s.dport)
        else:
            by_dport[s.dport] = iv.union(by_dport.get(s.dport, ()), s.saddr)
    by_saddr: dict[IntervalSet, IntervalSet] = {}
    for dport, saddr in by_dport.items():
        by_saddr[saddr] = iv.union(by_saddr.get(saddr, ()), dport)
    out = [Space(saddr=sa, dport=dp) for sa, dp in by_saddr.items()]
    if saddr_only:
        out.append(Space(saddr=saddr_only))
    if dport_only:
        out.append(Space(dport=dport_only))
    return out


def merge(regions: list[Region]) -> list[Region]:
    """Re-join regions that share everything but one dimension, to keep the region count small."""
    if len(regions) < 2:
        return regions
    by_key: dict[tuple[object, ...], IntervalSet] = {}
    for r in regions:
        k = (r.state, r.trail, r.legs, r.path, r.notes, r.saddr)
        by_key[k] = iv.union(by_key.get(k, ()), r.dport)
    by_dport: dict[tuple[object, ...], IntervalSet] = {}
    for (state, trail, legs, path, notes, saddr), dport in by_key.items():
        k2 = (state, trail, legs, path, notes, dport)
        by_dport[k2] = iv.union(by_dport.get(k2, ()), saddr)  # type: ignore[arg-type]
    return [
        Region(saddr=saddr, dport=dport, state=state, trail=trail, legs=legs, path=path, notes=notes)  # type: ignore[arg-type]
        for (state, trail, legs, path, notes, dport), saddr in by_dport.items()
    ]


def route_device(host: HostContext, version: int, addr: int) -> str | None:
    """The device of the most specific main-table route to ``addr`` (``None``: none usable)."""
    import ipaddress

    best = None
    ip = ipaddress.IPv4Address(addr) if version == 4 else ipaddress.IPv6Address(addr)
    for route in host.routes:
        if route.destination.version == version and ip in route.destination:
            if best is None or route.destination.prefixlen > best.destination.prefixlen:
                best = route
    if best is None or best.type not in ("unicast", "local"):
        return None
    return best.device


def primary_address(host: HostContext, name: str | None, version: int) -> int | None:
    iface = host.interface(name) if name else None
    if iface is None:
        return None
    for a in iface.addresses:
        if a.version == version:
            return int(a.ip)
    return None
