"""The realistic corpus (tests/data/corpus): which files make up each ruleset and how the host
that wrote them loads them, in load order. Shared by the readers' test (tests/collect/
test_corpus.py) and the kernel's judgement (tests/engine/test_oracle_corpus.py), so both read
the same rulesets the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"

#: the oracle lab's loader → the spec prefix fwaudit's offline reader takes for such a file
_SPEC = {"iptables-legacy": "iptables", "iptables-nft": "iptables", "ip6tables-legacy": "ip6tables",
         "ip6tables-nft": "ip6tables", "nftables": "nft", "ipset": "ipset"}


@dataclass(frozen=True)
class Load:
    """One file of a ruleset and the loader that puts it into the kernel (the lab's names:
    ``iptables-legacy``, ``iptables-nft``, ``ip6tables-…``, ``nftables``, ``ipset``)."""

    loader: str
    file: str

    @property
    def path(self) -> Path:
        return CORPUS / self.file

    @property
    def spec(self) -> str:
        """The ``--ruleset`` argument that reads this file as what it is."""
        return f"{_SPEC[self.loader]}:{self.path}"

    @property
    def command(self) -> list[str]:
        """The real tool loading this file."""
        if self.loader == "nftables":
            return ["nft", "-f", str(self.path)]
        if self.loader == "ipset":
            return ["ipset", "restore", "-file", str(self.path)]
        return [f"{self.loader}-restore", str(self.path)]


RULESETS: dict[str, tuple[Load, ...]] = {
    "docker-iptables-nft": (Load("iptables-nft", "docker-iptables-nft.rules"),),
    "ufw": (Load("iptables-legacy", "ufw.rules"),),
    "kube-proxy": (Load("iptables-nft", "kube-proxy.rules"),),
    "firewalld": (Load("nftables", "firewalld.nft"),),
    "openwrt-fw4": (Load("nftables", "openwrt-fw4.nft"),),
    "tailscale-ufw": (Load("iptables-nft", "tailscale-ufw.rules"), Load("ip6tables-nft", "tailscale-ufw.v6.rules")),
    "firewalld-libvirt": (Load("nftables", "firewalld-libvirt.nft"),),
    "fail2ban-gateway": (Load("ipset", "fail2ban-gateway.ipset"), Load("iptables-legacy", "fail2ban-gateway.rules"),
                         Load("ip6tables-legacy", "fail2ban-gateway.v6.rules")),
    # nftables.service runs at boot, dockerd after it: at equal priority Docker's chains run first
    "debian-docker-fail2ban": (Load("nftables", "debian-docker-fail2ban.nft"),
                               Load("iptables-nft", "debian-docker-fail2ban.rules")),
    "docker-swarm": (Load("iptables-nft", "docker-swarm.rules"), Load("ip6tables-nft", "docker-swarm.v6.rules")),
}
