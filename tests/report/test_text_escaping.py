"""Rule texts and comments are written by whoever wrote the ruleset: text output escapes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_cli_hostile_names import RAW_CONTROL

ROOT = Path(__file__).resolve().parents[2]
RULES = '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m comment --comment "\x1b]2;PWNED\x07 \u202e" -j ACCEPT\nCOMMIT\n'


def test_rules_and_exposure_text_escape_rule_comments(tmp_path):
    f = tmp_path / "esc\x1b[1m.rules"
    f.write_text(RULES)
    for cmd in (["rules", "--ruleset", f"iptables:{f}"],
                ["exposure", "--ruleset", f"iptables:{f}", "-i", "eth0", "-d", "198.18.0.1"]):
        res = subprocess.run([sys.executable, "-m", "auditor", *cmd], capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == 0, res.stderr
        assert not RAW_CONTROL.search(res.stdout) and "\\x1b]2;PWNED\\x07 \\u202e" in res.stdout
        assert "esc\\x1b[1m.rules" in res.stdout
