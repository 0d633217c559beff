"""Fixtures for the end-to-end tests on local, cloud-like test hosts (see hosts.py). Their report (plans,
timings, figures) is printed by report.py, a plugin tests/conftest.py registers."""
from pathlib import Path

import pytest

from tests.e2e import build


def pytest_sessionfinish(session):
    build.stop_dockerd()  # if the tests started it, in this process (the xdist worker that ran them)


@pytest.fixture(scope="session")
def wordcount_jar() -> Path:
    return build.build_job_jar("WordCount")


@pytest.fixture(scope="session")
def ticker_jar() -> Path:
    """An unbounded job, to show that a change leaves running jobs alone."""
    return build.build_job_jar("Ticker")
