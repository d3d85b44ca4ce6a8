"""The published JUnit XML schema (the Jenkins xUnit plugin's ``junit-10.xsd``, origin and
licence in the file): the independent judge of our JUnit output. It is lenient about
counts (``tests``/``failures`` are strings there), so tests check those values themselves."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).with_name("junit-10.xsd")


def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
