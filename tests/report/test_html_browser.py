"""The HTML reports in a real browser (headless Chromium): what a person sees.

Each test loads a report file, reads the DOM, checks that the browser logged no console error,
CSP violation or network request, and saves a screenshot under ``reports/html/`` (a test
artifact; CI keeps the directory).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.engine.fleet import merge_fleet
from auditor.report.host_view import host_from_document
from auditor.report.formats import render
from auditor.report.html import render_audit_html
from tests.fleet_documents import audit_doc, audit_result
from tests.report.headless import Browser
from tests.report.test_fleet_formats import EVIL_HOST, make_fleet

ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "html"


@pytest.fixture(scope="module")
def browser():
    with Browser(1400, 1000) as b:
        yield b


@pytest.fixture(scope="module")
def fleet_page(tmp_path_factory) -> Path:
    page = tmp_path_factory.mktemp("html") / "fleet.html"
    page.write_text(render("fleet", "html", make_fleet()))
    return page


def _save(browser: Browser, name: str, **kw) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(ARTIFACTS / name, **kw)


def test_fleet_page_shows_hosts_matrix_and_findings(browser, fleet_page):
    browser.open(fleet_page)
    rows = browser.evaluate("[...document.querySelectorAll('#hosts tbody tr')].map(r => r.dataset.host)")
    assert rows[:2] == ["db8", "db9"] and set(rows) == {"db1", "db2", "db3", "db8", "db9", EVIL_HOST.replace("\x1b", "\\x1b")}
    assert browser.evaluate("document.querySelectorAll('details.host[open]').length") == 6
    cells = browser.evaluate("[...document.querySelectorAll('#host-0 td.cell')].map(c => c.dataset.verdict)")
    assert cells == ["accept", "accept", "drop", "accept"]  # db1: lan ssh, lan pg, internet ssh, internet pg
    mismatch = browser.evaluate("document.querySelector('#host-0 td.cell.mismatch .tip').textContent")
    assert "internet → tcp/5432: accept" in mismatch and 'tcp dport 5432 accept comment "TODO restrict"' in mismatch
    titles = browser.evaluate("[...document.querySelectorAll('#host-0 .finding .title')].map(t => t.textContent)")
    assert titles == ["undeclared exposure", "undeclared listener"]
    assert browser.evaluate("document.querySelector('#host-0 .finding .fix').textContent") == "restrict or remove inet filter/input rule 5"
    assert browser.evaluate("document.title").startswith("fwaudit fleet: 6 host(s)")
    assert browser.evaluate("document.querySelectorAll('script').length") == 1  # none injected by host data
    assert browser.problems() == []
    _save(browser, "fleet.png")


def test_hovering_a_cell_shows_its_deciding_rule(browser, fleet_page):
    browser.open(fleet_page)
    tip = "#host-0 td.cell.mismatch .tip"
    assert browser.evaluate(f"getComputedStyle(document.querySelector('{tip}')).display") == "none"
    browser.hover("#host-0 td.cell.mismatch")
    assert browser.evaluate(f"getComputedStyle(document.querySelector('{tip}')).display") == "block"
    top = browser.evaluate("document.querySelector('#host-0').getBoundingClientRect().top + window.scrollY")
    _save(browser, "fleet-host-hover.png", clip={"x": 0, "y": top - 10, "width": 1400, "height": 520})


def test_sorting_by_a_column_reorders_the_hosts(browser, fleet_page):
    browser.open(fleet_page)
    browser.evaluate("document.querySelector('#hosts th:nth-child(1)').click()")
    names = browser.evaluate("[...document.querySelectorAll('#hosts tbody tr')].map(r => r.dataset.host)")
    assert names == sorted(names, key=str.lower)
    browser.evaluate("document.querySelector('#hosts th:nth-child(5)').click()")  # medium: descending first
    browser.evaluate("document.querySelector('#hosts th:nth-child(5)').click()")
    assert browser.evaluate("document.querySelector('#hosts th:nth-child(5)').getAttribute('aria-sort')") == "ascending"
    assert browser.problems() == []


def test_without_javascript_the_content_is_all_there(browser, fleet_page):
    browser.open(fleet_page, javascript=False)
    assert browser.evaluate("document.querySelectorAll('#hosts tbody tr').length") == 6
    assert browser.evaluate("document.querySelectorAll('td.cell').length") == 16
    assert browser.evaluate("document.querySelector('input.filter').hidden") is True
    browser.hover("#host-0 td.cell.mismatch")
    assert browser.evaluate("getComputedStyle(document.querySelector('#host-0 td.cell.mismatch .tip')).display") == "block"
    assert browser.problems() == []


def test_a_large_fleet_is_paged_and_collapsed(browser, tmp_path):
    hosts = [host_from_document(audit_doc(pg_open_to_internet=i % 3 == 0), f"r/h{i}.json", f"host{i:04}")
             for i in range(250)]
    page = tmp_path / "big.html"
    page.write_text(render("fleet", "html", merge_fleet(hosts)))
    browser.open(page)
    visible = "[...document.querySelectorAll('#hosts tbody tr')].filter(r => r.offsetParent !== null).length"
    assert browser.evaluate(visible) == 100
    assert browser.evaluate("document.querySelector('.pager .count').textContent") == "page 1 of 3 (250 hosts)"
    browser.evaluate("document.querySelector('.pager .next').click()")
    browser.evaluate("document.querySelector('.pager .next').click()")
    assert browser.evaluate(visible) == 50
    assert browser.evaluate("document.querySelectorAll('details.host[open]').length") == 0
    browser.evaluate("(() => { const i = document.querySelector('input.filter'); i.value = 'host0042';"
                     "i.dispatchEvent(new Event('input')); })()")
    assert browser.evaluate(visible) == 1
    # host details wait as compressed data until their section is opened
    assert browser.evaluate("document.querySelectorAll('td.cell').length") == 0
    def open_host(index: int) -> list[str]:
        """Open a host section, wait until its details are unpacked, return its finding ids."""
        return browser.evaluate(
            f"new Promise(done => {{ const d = document.querySelector('#host-{index}'); d.open = true;"
            "const poll = () => d.dataset.filled === 'done' ? done([...d.querySelectorAll('.finding .id')]"
            ".map(e => e.textContent)) : setTimeout(poll, 20); poll(); })")

    assert open_host(42) == ["FWA101:internet:tcp/5432", "FWA001:tcp/6379"]  # host0042: i % 3 == 0
    assert open_host(43) == ["FWA001:tcp/6379"]
    assert browser.evaluate("document.querySelectorAll('#host-42 td.cell').length") == 4
    assert browser.problems() == []
    browser.open(page, javascript=False)
    assert "shown when its section is opened" in browser.evaluate("document.querySelector('#host-42').textContent")


def test_single_host_audit_page(browser, tmp_path):
    page = tmp_path / "audit.html"
    page.write_text(render_audit_html(audit_result(target="netns:db1")))
    browser.open(page)
    assert browser.evaluate("document.querySelectorAll('details.host[open] td.cell').length") == 4
    assert browser.evaluate("document.querySelector('#hosts')") is None
    assert browser.problems() == []
    _save(browser, "audit.png")
