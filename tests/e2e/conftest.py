"""Fixtures for the end-to-end tests on local, cloud-like test hosts (see hosts.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # import hosts / flink_rest by plain name
import hosts  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if hosts.TIMINGS:
        terminalreporter.section("e2e timings")
        for name, seconds in hosts.TIMINGS.items():
            terminalreporter.write_line(f"[e2e] {name}: {seconds:.1f}s")


@pytest.fixture(scope="session")
def wordcount_jar() -> Path:
    return hosts.build_wordcount_jar()
