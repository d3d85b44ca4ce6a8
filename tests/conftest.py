"""Shared fixtures. Root tests get their own namespaces (unique per test run), always removed."""

from __future__ import annotations

import itertools
import os
from typing import Callable, Iterator

import pytest

from auditor.probe.namespaces import Namespace

RUN_ID = f"{os.getpid() % 100000:05d}"
_counter = itertools.count()


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces)")
    for item in items:
        if "root" in item.keywords or "docker" in item.keywords:
            item.add_marker(skip)


def unique_name(tag: str) -> str:
    """``fwa-t<run>-<n><tag>``: unique per run, short enough for interface names derived from it."""
    return f"fwa-t{RUN_ID}-{next(_counter)}{tag}"[:40]


@pytest.fixture
def make_netns() -> Iterator[Callable[[str], Namespace]]:
    """Factory for throwaway namespaces; every one is removed at teardown, pass or fail."""
    made: list[Namespace] = []

    def make(tag: str = "") -> Namespace:
        ns = Namespace(unique_name(tag))
        made.append(ns)
        return ns

    yield make
    for ns in reversed(made):
        ns.close()


@pytest.fixture
def netns(make_netns) -> Namespace:
    return make_netns()
