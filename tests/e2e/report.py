"""The end-to-end tests' report: the plans, "[e2e]" timings and figures (proc.py's PLANS, TIMINGS,
FIGURES), printed at the end of the session.

A plugin that tests/conftest.py registers in every pytest process. Under pytest-xdist (`-n 2`, see
pytest.ini) the e2e tests run in one worker, whose module globals the controller does not see: each
worker hands them over at its session's end (config.workeroutput), the controller gathers them as the
worker goes down (pytest_testnodedown) and prints them with its own, in the same sections as a run
without xdist (`-n 0`).
"""
import pytest

from tests.e2e.proc import FIGURES, PLANS, TIMINGS

_gathered: list[dict] = []  # the workers' reports, in the order they went down
KEY = "flink-swarm-e2e-report"


def _report() -> dict:
    return {"plans": list(PLANS), "timings": dict(TIMINGS), "figures": dict(FIGURES)}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)  # only in an xdist worker
    if output is not None:
        output[KEY] = _report()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    report = getattr(node, "workeroutput", {}).get(KEY)
    if report:
        _gathered.append(report)


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):  # a worker: the controller prints
        return
    plans, timings, figures = [], {}, {}
    for report in [_report(), *_gathered]:
        plans += report["plans"]
        timings.update(report["timings"])
        figures.update(report["figures"])
    if plans:
        terminalreporter.section("e2e plans")
        for plan in plans:
            terminalreporter.write_line(plan)
    if timings:
        terminalreporter.section("e2e timings")
        for name, seconds in timings.items():
            terminalreporter.write_line(f"[e2e] {name}: {seconds:.1f}s")
    if figures:
        terminalreporter.section("e2e figures")
        for name, figure in figures.items():
            terminalreporter.write_line(f"[e2e] {name}: {figure}")
