"""Hand-written tricky cases, each loaded into the oracle lab and compared with the kernel
(live and offline), plus explicit expectations so a case cannot pass by both sides drifting."""

from __future__ import annotations

import pytest

from tests.engine.oracle_lab import TARGET, disagreements, predicted
from auditor.probe.connect import Point

pytestmark = [pytest.mark.root, pytest.mark.oracle]

C0, C0B, C1 = "198.18.1.10", "198.18.1.200", "198.18.2.10"

CASES = {
    "goto-then-return": ("iptables-legacy", """*filter
:INPUT DROP [0:0]
:A - [0:0]
:B - [0:0]
-A INPUT -j A
-A INPUT -p tcp --dport 22 -j ACCEPT
-A A -p tcp -g B
-A A -j ACCEPT
-A B -p tcp --dport 22 -j RETURN
-A B -p tcp --dport 80 -j ACCEPT
COMMIT
""", {("tcp", 22, C0): "open", ("tcp", 80, C0): "open", ("tcp", 443, C0): "silent", ("udp", 53, C0): "open"}),
    "accept-then-drop-in-other-table": ("nftables", """table inet a {
  chain in { type filter hook input priority -10; policy accept; tcp dport 22 accept; }
}
table ip b {
  chain in { type filter hook input priority 0; policy drop; tcp dport 80 accept; }
}
""", {("tcp", 22, C0): "silent", ("tcp", 80, C0): "open"}),
    "dnat-to-backend-bypasses-input": ("iptables-nft", """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 198.18.3.2:80
-A PREROUTING -i eth0 -p udp -m udp --dport 8081 -j DNAT --to-destination 198.18.3.2:53
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -d 198.18.3.2/32 -o eth2 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
""", {("tcp", 8081, C0): "open", ("tcp", 80, C0): "silent", ("udp", 8081, C0): "silent",
      ("tcp", 8081, C1): "silent"}),
    "negated-interface-and-port-65535": ("iptables-legacy", """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT ! -i eth1 -p tcp -m tcp --dport 65535 -j REJECT --reject-with tcp-reset
-A INPUT ! -i eth1 -p udp -m udp --dport 65535 -j REJECT --reject-with icmp-admin-prohibited
COMMIT
""", {("tcp", 65535, C0): "refused", ("tcp", 65535, C1): "open", ("udp", 65535, C0): "refused"}),
    "iprange-edges": ("iptables-nft", """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m iprange --src-range 198.18.1.11-198.18.1.199 -j ACCEPT
COMMIT
""", {("tcp", 22, "198.18.1.11"): "open", ("tcp", 22, C0): "silent", ("tcp", 22, C0B): "silent"}),
    "ct-state-and-nft-sets": ("nftables", """table inet f {
  set web { type inet_service; flags interval; elements = { 80, 440-450 } }
  chain in {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    tcp dport @web ip saddr { 198.18.1.0/25, 198.18.2.0/24 } accept
    udp dport vmap { 53 : accept, 1000 : drop }
    udp dport 1000 reject
  }
}
""", {("tcp", 80, C0): "open", ("tcp", 80, C0B): "silent", ("tcp", 443, C1): "open",
      ("udp", 53, C0): "open", ("udp", 1000, C0): "silent", ("udp", 22, C0): "silent"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tricky_case_agrees_with_kernel(lab, tmp_path, name):
    tool, text, expect = CASES[name]
    lab.reset()
    lab.load(tool, text)
    kernel = lab.kernel()
    for (proto, port, src), outcome in expect.items():
        dest = TARGET["eth1"] if src.startswith("198.18.2.") else TARGET["eth0"]
        assert kernel[Point(src, dest, proto, port)] == outcome, (proto, port, src)
    f = tmp_path / ("case.nft" if tool == "nftables" else "case.rules")
    f.write_text(text)
    assert disagreements(kernel, predicted(*lab.live_view())) == []
    assert disagreements(kernel, predicted(*lab.offline_view([f]))) == []
