"""Seeded mutations of valid ruleset files, for the differential strictness fuzzer.

Each mutant is one small edit of a valid file — the kind of mistake a person or a generator
makes: two words swapped, a number out of range, an option that does not belong, a line cut
short, lines or words in another order, a word dropped or doubled. Everything follows from
the ``random.Random`` passed in, so a seed reproduces a mutant exactly.
"""

from __future__ import annotations

import random

NUMBERS = ["0", "1", "-1", "65535", "65536", "70000", "0x16", "026", "4294967295", "4294967296", "99999999999999999999",
           "1:0", "5:1", "0:65535", "1.2.3.4", "256.1.1.1", "198.18.0.0/33", "::1", "fd00:db8::/129", "", "abc"]
IPTABLES_WORDS = ["!", "-s", "-d", "-p", "-i", "-o", "-m", "-j", "-g", "-f", "--dport", "--sport", "--dports", "tcp",
                  "udp", "icmp", "ipv6-icmp", "all", "ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "-m tcp",
                  "-m state", "--state NEW", "-m conntrack", "--ctstate", "ESTABLISHED,RELATED", "--syn",
                  "--tcp-flags", "SYN,ACK", "SYN", "-m multiport", "-m mark", "--mark", "0x1/0xff", "-m comment",
                  "--comment", '"x y"', "-m limit", "--limit", "5/min", "--reject-with", "tcp-reset", "--bogus",
                  "-A", "-I", "-N", "-P", "-X", "-F", "-D", "INPUT", "FORWARD", "OUTPUT", "COMMIT", "*filter",
                  ":INPUT", "-4", "-6", "--to-destination", "-m iprange", "--src-range", "--log-prefix"]
NFT_WORDS = ["{", "}", ";", "accept", "drop", "reject", "tcp", "udp", "dport", "sport", "ip", "ip6", "saddr", "daddr",
             "ct", "state", "established", "new", "meta", "l4proto", "iifname", '"eth0"', "counter", "jump", "goto",
             "return", "policy", "type", "filter", "hook", "input", "priority", "chain", "table", "inet", "set",
             "map", "vmap", ":", ",", ".", "limit", "rate", "over", "10/second", "@s", "$X", "define", "mark",
             "dnat", "to", "log", "prefix", "!=", "==", "-", "/", "elements", "=", "include"]


def _words(line: str) -> list[str]:
    return line.split(" ")


def mutate(text: str, rng: random.Random, words: list[str]) -> tuple[str, str]:
    """One mutant of ``text`` and a short description of the edit."""
    lines = text.split("\n")
    body = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    i = rng.choice(body)
    tokens = _words(lines[i])
    kind = rng.choice(["swap", "number", "insert", "truncate", "reorder", "drop", "double", "swap-lines", "replace"])
    if kind == "swap" and len(tokens) > 1:
        j = rng.randrange(len(tokens) - 1)
        tokens[j], tokens[j + 1] = tokens[j + 1], tokens[j]
    elif kind == "number":
        numeric = [j for j, t in enumerate(tokens) if any(c.isdigit() for c in t)] or list(range(len(tokens)))
        tokens[rng.choice(numeric)] = rng.choice(NUMBERS)
    elif kind == "insert":
        tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(words))
    elif kind == "replace":
        tokens[rng.randrange(len(tokens))] = rng.choice(words)
    elif kind == "truncate":
        if rng.random() < 0.5:
            cut = sum(len(lines[k]) + 1 for k in range(i)) + rng.randrange(len(lines[i]) + 1)
            return text[:cut], f"truncated at {cut}"
        tokens = tokens[:rng.randrange(len(tokens) + 1)]
    elif kind == "reorder":
        rng.shuffle(tokens)
    elif kind == "drop" and tokens:
        del tokens[rng.randrange(len(tokens))]
    elif kind == "double" and tokens:
        j = rng.randrange(len(tokens))
        tokens.insert(j, tokens[j])
    elif kind == "swap-lines" and len(body) > 1:
        k = rng.choice(body)
        lines[i], lines[k] = lines[k], lines[i]
        return "\n".join(lines), f"swapped lines {i + 1} and {k + 1}"
    lines[i] = " ".join(tokens)
    return "\n".join(lines), f"{kind} on line {i + 1}"
