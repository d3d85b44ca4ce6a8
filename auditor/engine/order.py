"""The order in which the kernel runs the base chains of one hook.

Several base chains on one hook — native nft tables, the tables iptables-nft wrote, iptables-legacy
tables — all run, by priority. Two facts decide the rest (netfilter-facts.md, measured here):

* nat-type chains do not sit on the hook themselves: the nat core runs them all at its own slot
  (-100 in prerouting and output, +100 in input and postrouting), ordered among themselves by
  their own priority;
* at *equal* priority the chain registered most recently runs first: the kernel inserts a new
  hook entry before the existing ones of the same priority (``nf_hook_entries_grow``). That holds
  for conntrack's own hook too (-200 in prerouting and output): it is registered when a netns'
  first ruleset needs it, so a chain at exactly -200 loaded later runs *before* conntrack (every
  packet's ``ct state`` is then invalid) and one loaded with or before it runs after — measured
  both ways here. Its place among such chains is never known (:attr:`Slot.conntrack`). The nat
  core is the same: it registers its hooks (all four) with a family's first nat chain — or
  iptables-legacy's nat table — so a filter chain at exactly the core's priority runs before
  or after it depending on history no ruleset shows (measured: the oracle lab's empty legacy
  nat table put it first); every place is considered (:attr:`Slot.nat_core`).

Registration order comes, in this order of preference, from the kernel's own listing (``nft list
hooks``, not available on every kernel), from nf_tables handles (a table's handle is allocated when
it is created; we assume its base chains were created with it, and order chains of one table by
their own handles), or — for ruleset files — from the order the files are given and tables appear
in them. iptables-legacy tables have no handle: next to nf_tables chains of the same priority their
relative order cannot be read, and the evaluator then evaluates every order (:class:`Slot` with
``known=False``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from auditor.model.ruleset import Chain, HookEntry, Ruleset, Table

#: Priority at which the nat core runs all nat-type chains of a hook (nf_nat_*_register_fn).
NAT_CORE_PRIORITY = {"prerouting": -100, "input": 100, "output": -100, "postrouting": 100}
CONNTRACK_PRIORITY = -200


@dataclass(frozen=True)
class Member:
    table: Table
    chain: Chain
    nat: bool


@dataclass(frozen=True)
class Slot:
    """Base chains that run at one place of a hook.

    ``members`` are in kernel order when ``known``; otherwise their relative order cannot be read
    and every permutation must be considered. ``source`` says where the order came from.
    ``conntrack``: the slot sits at exactly conntrack's priority, whose place among its chains
    depends on registration order no listing here reveals; every place is considered.
    ``nat_core``: likewise at the nat core's priority (the slot then holds only filter chains;
    the nat chains, which the core runs, are in the nat slots that follow).
    """

    priority: int  # the effective priority (the nat core's slot for nat chains)
    members: tuple[Member, ...]
    known: bool = True
    source: str = "priority"
    idle: tuple[Member, ...] = ()  # empty accepting chains: their place changes nothing
    conntrack: bool = False
    nat_core: bool = False

    @property
    def ambiguous(self) -> bool:
        return (not self.known and len(self.members) > 1) or self.conntrack or self.nat_core

    def orders(self) -> list[tuple[Member | Builtin, ...]]:
        """Every order the kernel might use: one when known, all permutations otherwise; with
        ``conntrack`` / ``nat_core``, each also with that hook in every place."""
        if not self.ambiguous:
            return [self.members]
        orders: list[tuple[Member | Builtin, ...]] = (
            [self.members] if self.known else [tuple(p) for p in itertools.permutations(self.members)])
        for builtin, present in ((CONNTRACK, self.conntrack), (NAT_CORE, self.nat_core)):
            if present:
                orders = [o[:i] + (builtin,) + o[i:] for o in orders for i in range(len(o) + 1)]
        return orders


@dataclass(frozen=True)
class Builtin:
    """A kernel hook that is not a chain, in an order: conntrack or the nat core."""

    name: str


CONNTRACK = Builtin("conntrack")
NAT_CORE = Builtin("the nat core")


def is_nat(table: Table, chain: Chain) -> bool:
    if chain.type is not None:
        return chain.type == "nat"
    return table.backend != "nftables" and table.name == "nat"


def families_for(hook: str, version: int) -> frozenset[str]:
    if hook in ("ingress", "egress"):
        return frozenset({"inet", "netdev"})
    return frozenset({"inet", "ip" if version == 4 else "ip6"})


def hook_slots(ruleset: Ruleset, hook: str, version: int, device: str | None = None) -> list[Slot]:
    """The base chains of ``hook`` for IP ``version`` (ingress/egress: on ``device``), in order."""
    families = families_for(hook, version)
    found: list[tuple[tuple[int, int], int, Member]] = []
    for index, table in enumerate(ruleset.tables):
        if table.family not in families:
            continue
        for chain in table.chains:
            if chain.hook != hook:
                continue
            if hook in ("ingress", "egress") and chain.device != device:
                continue
            nat = is_nat(table, chain)
            prio = chain.priority if chain.priority is not None else 0
            effective = NAT_CORE_PRIORITY.get(hook, prio) if nat else prio
            found.append(((effective, prio), index, Member(table, chain, nat)))
    groups: dict[tuple[int, int], list[tuple[int, Member]]] = {}
    for key, index, member in found:
        groups.setdefault(key, []).append((index, member))
    listing = _listing(ruleset, hook, version)
    slots: list[Slot] = []
    core = NAT_CORE_PRIORITY.get(hook)
    core_exists = core is not None and any(
        is_nat(t, c) for t in ruleset.tables if t.family in families for c in t.chains if c.hook is not None)
    for (effective, _), members in sorted(groups.items(), key=lambda kv: kv[0]):
        if core_exists and effective == core and any(not m.nat and _active(m) for _, m in members):
            filters = [(i, m) for i, m in members if not m.nat]
            nats = [(i, m) for i, m in members if m.nat]
            slots.append(replace(_order_group(effective, filters, listing, version), nat_core=True))
            if nats:
                slots.append(_order_group(effective, nats, listing, version))
            continue
        slot = _order_group(effective, members, listing, version)
        if hook in ("prerouting", "output") and effective == CONNTRACK_PRIORITY and any(
                _active(m) for m in slot.members):
            slot = replace(slot, conntrack=True)
        slots.append(slot)
    return slots


def _active(m: Member) -> bool:
    """Whether the chain can do anything: an empty chain that accepts changes nothing."""
    return bool(m.chain.rules) or m.chain.policy == "drop"


def _order_group(effective: int, members: list[tuple[int, Member]],
                 listing: list[HookEntry] | None, version: int) -> Slot:
    if len(members) == 1:
        return Slot(effective, (members[0][1],))
    ms = [m for _, m in members]
    if listing is not None and not any(m.nat for m in ms):
        ranked = _rank_by_listing(ms, listing, version)
        if ranked is not None:
            return Slot(effective, ranked, True, "nft list hooks")
    # chains without rules that accept do nothing: their place does not matter
    active = [(index, m) for index, m in members if _active(m)]
    idle = tuple(m for index, m in members if (index, m) not in active)
    keys = [_registration(index, m) for index, m in active]
    if any(k is None for k in keys) and len(active) > 1:
        return Slot(effective, tuple(m for _, m in active), False,
                    "unknown: iptables-legacy beside nf_tables", idle)
    order = sorted(zip(keys, (m for _, m in active)), key=lambda km: km[0] or (0, 0), reverse=True)
    source = "file order" if any(m.table.backend == "file" for m in ms) else "table handles"
    return Slot(effective, tuple(m for _, m in order), True, source, idle)


def _registration(index: int, m: Member) -> tuple[int, int] | None:
    """(table, chain) registration sequence; ``None`` for x_tables."""
    if m.table.backend == "iptables-legacy":
        return None
    table_seq = m.table.handle if m.table.handle is not None else index
    return (table_seq, m.chain.handle if m.chain.handle is not None else 0)


def _listing(ruleset: Ruleset, hook: str, version: int) -> list[HookEntry] | None:
    if ruleset.hooks is None:
        return None
    family = "ip" if version == 4 else "ip6"
    if hook in ("ingress", "egress"):
        family = "netdev"
    return [h for h in ruleset.hooks if h.family == family and h.hook == hook]


_LEGACY_FUNCTIONS = {4: "ipt_do_table", 6: "ip6t_do_table"}


def _rank_by_listing(ms: list[Member], listing: list[HookEntry], version: int) -> tuple[Member, ...] | None:
    """Members in the order ``nft list hooks`` shows them; ``None`` if one cannot be placed."""
    positions: list[tuple[int, Member]] = []
    for m in ms:
        pos = None
        for i, entry in enumerate(listing):
            if m.table.backend == "iptables-legacy":
                if entry.function == _LEGACY_FUNCTIONS[version] and entry.priority == m.chain.priority:
                    pos = i
                    break
            elif entry.chain == (m.table.family, m.table.name, m.chain.name):
                pos = i
                break
        if pos is None:
            return None
        positions.append((pos, m))
    positions.sort(key=lambda pm: pm[0])
    return tuple(m for _, m in positions)


def describe(m: Member | Builtin) -> str:
    """``iptables-legacy ip filter INPUT`` — how reports name a base chain (or conntrack, the
    nat core)."""
    if isinstance(m, Builtin):
        return m.name
    return f"{m.table.backend} {m.table.family} {m.table.name} {m.chain.name}"
