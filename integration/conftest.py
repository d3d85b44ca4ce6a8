"""The Docker harness for integration tests: one private engine per session, always removed."""

from __future__ import annotations

import os
import shutil

import pytest

from integration.harness import DockerLab, leftovers


@pytest.fixture(scope="session")
def docker_lab():
    if os.geteuid() != 0:
        pytest.skip("the Docker harness needs root")
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (run scripts/bootstrap)")
    lab = DockerLab()
    try:
        yield lab
    finally:
        lab.close()
    assert leftovers() == [], "the harness left something behind"
