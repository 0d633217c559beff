"""Shared fixtures: the program's base config and a runner that gives each test a fresh mock run;
each suite's (test file's) time, setup and teardown included, printed at the end.

With `-n 2 --dist loadscope` the tests run in two pytest-xdist workers (pytest.ini): every end-to-end test
(tests/e2e) in one scope, so they run in order in one worker (they share one dockerd, its test hosts and
images), while the other worker runs the other suites, each test file a scope of its own (module
fixtures: a file's tests run in order in one worker). The controller gets every test's report, so the
time per suite is summed here as without xdist; the e2e report comes from the worker (tests/e2e/report.py)."""
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import BASE_CONFIG, run_program  # noqa: E402
from tests.e2e import report as e2e_report  # noqa: E402

SUITE_SECONDS: dict[str, float] = defaultdict(float)
E2E_SUITES = "tests/e2e/"  # test ids are relative to the rootdir (pytest.ini's)


def pytest_configure(config):
    config.pluginmanager.register(e2e_report, "flink-swarm-e2e-report")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest.ini's `--dist loadscope`, with every end-to-end test in one scope (a test file each else)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            suite = nodeid.split("::", 1)[0]
            return "e2e" if suite.startswith(E2E_SUITES) else suite

    return Scheduling(config, log)


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
