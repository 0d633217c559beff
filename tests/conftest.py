"""Shared fixtures: the program's base config and a runner that gives each test a fresh mock run;
each suite's (test file's) time, setup and teardown included, printed at the end."""
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import BASE_CONFIG, run_program  # noqa: E402

SUITE_SECONDS: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    SUITE_SECONDS[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("time per suite")
    for suite, seconds in sorted(SUITE_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:7.1f} s  {suite}")


@pytest.fixture
def program(tmp_path, monkeypatch):
    """Run the program under mocks: program(**config overrides) -> Run. Key files go to tmp_path."""
    monkeypatch.setenv("FLINK_SWARM_KEY_DIR", str(tmp_path / "keys"))

    def run(secrets=(), stack="test", **overrides):
        config = dict(BASE_CONFIG)
        for key, value in overrides.items():
            full = key if ":" in key else f"flink-swarm:{key}"
            if value is None:
                config.pop(full, None)
            else:
                config[full] = value
        return run_program(config, secrets=[s if ":" in s else f"flink-swarm:{s}" for s in secrets],
                           stack=stack)

    return run
