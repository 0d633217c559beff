"""The latency model (bench/latency.py) weighs the program's own graph as its YAML says."""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from graph import critical_path  # noqa: E402
from latency import LatencyModel  # noqa: E402

CMD = "command:remote:Command"


def test_the_control_managers_own_join_is_a_check(program):
    run = program()
    model = LatencyModel.of_run(run, 5)
    joins = {c.name: model.seconds(c) for c in run.of_type(CMD) if c.name.endswith("-join")}
    # it made the swarm: swarm-join.sh only reads `docker info` (join.on_control); every other node joins
    assert joins.pop("azure-swarm-manager-join") == model.on_control["join"] == 2
    assert set(joins.values()) == {model.steps["join"]} == {8}
    # a design keeps the rule
    assert model.scenario("prebaked-image").seconds(run.get("azure-swarm-manager-join")) == 2


def test_every_design_waits_for_cloud_inits_final_stage_and_the_default_is_the_program(program):
    run = program()
    model = LatencyModel.of_run(run, 5)
    docker = run.get("azure-swarm-manager-docker")
    for name in model.designs:  # runcmd runs after multi-user.target, and the steps wait for all of cloud-init
        design = model.scenario(name)
        assert design.steps["docker"]["cloud-init-wait"] == 5
        assert design.seconds(docker) == sum(design.steps["docker"].values()) >= 5
    assert model.default_design == "fetch-at-boot"
    # the critical path ends at a Flink service, and a prebaked image is faster than the default
    default, _ = critical_path(run, model.scenario("fetch-at-boot").seconds)
    prebaked, path = critical_path(run, model.scenario("prebaked-image").seconds)
    assert path[-1].type == "docker:index/service:Service" and prebaked < default
