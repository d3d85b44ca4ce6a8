"""The built-in demo lab: a deliberately misconfigured "host" in network namespaces.

``fwaudit lab up`` builds it, ``fwaudit lab down`` removes it (and anything left by an earlier
run). Everything is named ``fwa-lab-*`` and lives in 198.18.0.0/15. Callers may give another
name prefix (the tests do, so a test run and a demo on the same machine never tear down each
other's lab); everything inside the namespaces is the same:

    fwa-lab-lan (198.18.0.10) ──lan0── fwa-lab-host ──wan0── fwa-lab-wan (198.19.0.10)
                                 198.18.0.2   198.19.0.2

The host runs real listeners (named like the daemons they stand for) and a native nftables
ruleset with the kind of mistakes audits find in practice. Compare with policies/demo.yaml:

* postgres listens on 0.0.0.0:5432 although the policy says loopback, and the firewall lets
  everyone reach it;
* a debug HTTP server on 8080 that nobody declared, open to the world;
* the DNS server on udp/53 is not the declared program;
* https (443) is declared but nothing listens; http is declared and served;
* ssh is only reachable from the LAN, as declared.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

from auditor.errors import EnvironmentProblem
from auditor.probe.namespaces import Namespace, connect, leftover_namespaces, remove_namespace
from auditor.target.runner import start_command

LAB_PREFIX = "fwa-lab-"

#: (process name, tcp ports, udp ports, bind address)
SERVICES = (
    ("sshd", "22", "", "0.0.0.0"),
    ("nginx", "80", "", "0.0.0.0"),
    ("postgres", "5432", "", "0.0.0.0"),
    ("python-dns", "", "53", "0.0.0.0"),
    ("devserver", "8080", "", "0.0.0.0"),
    ("redis-server", "6379", "", "127.0.0.1"),
)

RULESET = """\
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    ip saddr 198.18.0.0/24 tcp dport 22 accept comment "ssh from the LAN"
    tcp dport { 80, 443 } accept comment "web"
    tcp dport 5432 accept comment "TODO restrict to app servers"
    tcp dport 8080 accept comment "temporary debug"
    ip saddr 198.18.0.0/24 udp dport 53 accept comment "DNS for the LAN"
  }
}
"""


@dataclass(frozen=True)
class LabInfo:
    host: str
    namespaces: tuple[str, ...]
    addresses: dict[str, str]


def lab_up(prefix: str = LAB_PREFIX) -> LabInfo:
    """Build the lab from scratch (an existing one with this prefix is removed first)."""
    lab_down(prefix)
    names = (f"{prefix}host", f"{prefix}lan", f"{prefix}wan")
    made: list[Namespace] = []
    try:
        host, lan, wan = (Namespace(n) for n in names)
        made += [host, lan, wan]
        connect(host, "lan0", lan, "eth0")
        connect(host, "wan0", wan, "eth0")
        host.add_address("lan0", "198.18.0.2/24")
        host.add_address("wan0", "198.19.0.2/24")
        lan.add_address("eth0", "198.18.0.10/24")
        wan.add_address("eth0", "198.19.0.10/24")
        lan.add_route("0.0.0.0/0", gateway="198.18.0.2")
        wan.add_route("0.0.0.0/0", gateway="198.19.0.2")
        host.exec(["nft", "-f", "-"], input=RULESET)
        for name, tcp, udp, bind in SERVICES:
            _start_detached(host, name, tcp, udp, bind)
    except Exception:
        for ns in made:
            ns.close()
        raise
    return LabInfo(
        host=names[0],
        namespaces=names,
        addresses={"lan0": "198.18.0.2", "wan0": "198.19.0.2", "lan client": "198.18.0.10",
                   "wan client": "198.19.0.10"},
    )


def _start_detached(ns: Namespace, name: str, tcp: str, udp: str, bind: str) -> None:
    """A listener that outlives this command (``lab down`` kills it with its namespace)."""
    proc = start_command([sys.executable, "-m", "auditor.probe.servers", "--name", name,
                          "--tcp", tcp, "--udp", udp, "--bind", bind], netns=ns.path,
                         stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise EnvironmentProblem(f"lab listener {name} did not start (exit code {proc.wait()})")
    proc.stdout.close()


def lab_down(prefix: str = LAB_PREFIX) -> list[str]:
    """Remove every lab namespace with this prefix (and the processes in it); returns what was
    removed."""
    gone = leftover_namespaces(prefix)
    for name in gone:
        remove_namespace(name)
    deadline = time.monotonic() + 5
    while leftover_namespaces(prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    return gone
