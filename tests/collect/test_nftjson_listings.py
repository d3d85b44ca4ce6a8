"""The nft JSON reader on stored listings, without root.

``tests/data/nft-listings`` holds what ``nft -j -a list ruleset`` and ``nft -a list ruleset`` print
for the corpus' nft files (``make`` there regenerates them, as root). Every typed rule the reader
builds from them is compared with a reviewed golden model (``NAME.model.json``), so any change
in what the reader makes of a listing shows up here without root; the root test below holds the
stored listings to what nft prints today. After a deliberate change, review the diff and
regenerate: ``FWAUDIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/collect/test_nftjson_listings.py``.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from auditor.collect.nftjson import chain_devices_from_listing, rule_texts_from_listing, tables_from_nft_json
from auditor.model.codec import encode
from auditor.model.ruleset import Table

LISTINGS = Path(__file__).resolve().parents[1] / "data" / "nft-listings"
NAMES = sorted(p.stem for p in LISTINGS.glob("*.json") if not p.name.endswith(".model.json"))
UPDATE = os.environ.get("FWAUDIT_UPDATE_GOLDEN") == "1"


def model_text(name: str) -> str:
    doc = json.loads((LISTINGS / f"{name}.json").read_text())
    text = (LISTINGS / f"{name}.txt").read_text()
    tables, notes = tables_from_nft_json(doc, rule_texts=rule_texts_from_listing(text),
                                         chain_devices=chain_devices_from_listing(text))
    return json.dumps({"tables": encode(tables, tuple[Table, ...]), "notes": list(notes)}, indent=1) + "\n"


def test_every_listing_is_there():
    assert NAMES == ["debian-docker-fail2ban", "firewalld", "firewalld-libvirt", "nft-constructs", "nft-typed-inet",
                     "nft-typed-ip", "nft-typed-ip6", "openwrt-fw4"]


@pytest.mark.parametrize("name", NAMES)
def test_the_reader_builds_the_reviewed_model(name):
    now, golden = model_text(name), LISTINGS / f"{name}.model.json"
    if UPDATE:
        golden.write_text(now)
        return
    expected = golden.read_text()
    if now != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), now.splitlines(True), golden.name, "now"))[:80])
        pytest.fail(f"{golden.name} differs (review, then FWAUDIT_UPDATE_GOLDEN=1):\n{diff}")


@pytest.mark.root
@pytest.mark.parametrize("name", NAMES)
def test_the_stored_listing_is_what_nft_prints(name, tmp_path):
    source = LISTINGS.parent / (f"{name}.nft" if name.startswith("nft-") else f"corpus/{name}.nft")
    ns = f"fwa-t{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for dev in ("eth0", "eth1", "eth2", "br0", "docker0", "wan", "lan", "wg0", "tailscale0", "virbr0"):
            subprocess.run(["ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", f"p-{dev}"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(source)], check=True, timeout=60)
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "-a", "list", "ruleset"], check=True,
                                capture_output=True, text=True, timeout=60).stdout
        text = subprocess.run(["ip", "netns", "exec", ns, "nft", "-a", "list", "ruleset"], check=True,
                              capture_output=True, text=True, timeout=60).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    assert json.loads(listed) == json.loads((LISTINGS / f"{name}.json").read_text())
    assert text == (LISTINGS / f"{name}.txt").read_text()
