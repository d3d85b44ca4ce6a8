"""The firewall as the kernel runs it, hook by hook: where every base chain sits, and how
certain that order is (``fwaudit rules``)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.ruleset import Chain, Ruleset, Table


@dataclass(frozen=True)
class BaseChainPlacement:
    """One base chain at its place on a hook, for one IP version.

    ``priority`` is the effective one (nat-type chains run at the nat core's slot: ``nat``);
    ``tied_with`` counts the other chains at the same place, whose relative order comes from
    ``order_source`` (``nft list hooks``, handles, file order) — or cannot be read
    (``order_known`` false: iptables-legacy beside nf_tables, or conntrack or the nat core at the
    same priority; ``order_source`` says which, and every order is evaluated)."""

    hook: str
    ip_version: int
    priority: int
    table: Table
    chain: Chain
    nat: bool
    order_known: bool
    order_source: str
    tied_with: int


@dataclass(frozen=True)
class RulesView:
    """A target's ruleset with its base chains in kernel order."""

    target: str
    ruleset: Ruleset
    order: tuple[BaseChainPlacement, ...]
