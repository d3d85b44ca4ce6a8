"""The kernel-oracle lab, shared by the random and the regression oracle tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lab():
    from auditor.probe.namespaces import Namespace
    from tests.conftest import unique_name
    from tests.engine.oracle_lab import OracleLab

    spaces = [Namespace(unique_name(tag)) for tag in ("T", "C", "B")]
    try:
        yield OracleLab(*spaces)
    finally:
        for ns in spaces:
            ns.close()
