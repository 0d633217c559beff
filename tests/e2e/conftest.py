"""Fixtures for the end-to-end tests on local, cloud-like test hosts (see hosts.py)."""
from pathlib import Path

import pytest

from tests.e2e import build
from tests.e2e.proc import FIGURES, PLANS, TIMINGS


def pytest_sessionfinish(session):
    build.stop_dockerd()  # if the tests started it


def pytest_terminal_summary(terminalreporter):
    if PLANS:
        terminalreporter.section("e2e plans")
        for plan in PLANS:
            terminalreporter.write_line(plan)
    if TIMINGS:
        terminalreporter.section("e2e timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"[e2e] {name}: {seconds:.1f}s")
    if FIGURES:
        terminalreporter.section("e2e figures")
        for name, figure in FIGURES.items():
            terminalreporter.write_line(f"[e2e] {name}: {figure}")


@pytest.fixture(scope="session")
def wordcount_jar() -> Path:
    return build.build_job_jar("WordCount")


@pytest.fixture(scope="session")
def ticker_jar() -> Path:
    """An unbounded job, to show that a change leaves running jobs alone."""
    return build.build_job_jar("Ticker")
