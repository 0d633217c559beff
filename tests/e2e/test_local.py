"""End to end from nothing with `cloud: local`: the program makes its own nodes on this machine's Docker.

"Try it locally" through the real `pulumi` CLI: Pulumi.local.yaml's stack (under the test's own stack
name, so that a local stack of this machine's user is left alone), `pulumi up`; the docker stand-in
(tests/plugins, mode `hosts`) builds the host image from components/local-host and makes the network and
the four containers through this machine's Engine API (reading back what Docker stores, as the real
provider does), then the same steps and services as on any cloud run on them over SSH to 127.0.0.1. A
job runs, a second `up` changes nothing, and `pulumi destroy` leaves no container, volume, network or
image behind. The test gives only what this machine differs in: its base image (the Debian the test
hosts' node image is built on, which trusts the test registry) and ports that nothing else here uses.
"""
import json
import time
import urllib.request

import pytest

from components import local
from tests.cli import Project
from tests.e2e import flink_rest, hosts
from tests.e2e.build import FLINK_VERSION
from tests.e2e.proc import PLANS, TIMINGS, run, wait
from tests.harness import ROOT

pytestmark = pytest.mark.e2e

STACK = "e2e-local"
NAMES = ["local-manager", "local-jobmanager", "local-worker-1", "local-worker-2"]
SSH_PORT, UI_PORT = 22022, 18081  # off the defaults, so that a local stack of this machine's user is left alone
PROMETHEUS_PORT, SQL_GATEWAY_PORT = 19090, 18083


def engine_objects() -> dict[str, set[str]]:
    """Every container, volume, network and image on this machine's Engine, by id."""
    return {kind: set(run("docker", *command, "-q").split()) for kind, command in (
        ("containers", ["ps", "-a", "--no-trunc"]), ("volumes", ["volume", "ls"]),
        ("networks", ["network", "ls", "--no-trunc"]), ("images", ["images", "-a", "--no-trunc"]))}


def remove_stack_leftovers() -> None:
    """What a failed run of this stack left (the program's label), so the next run starts from nothing."""
    label = f"label={local.LABEL}={STACK}"
    for kind, remove in (("ps -a", "rm --force --volumes"), ("network ls", "network rm"), ("images", "rmi --force")):
        found = run("docker", *kind.split(), "-q", "--filter", label).split()
        if found:
            run("docker", *remove.split(), *found)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = hosts.start_lab()["local-base"]  # the Debian the test hosts are built on (build.py)
    try:
        hosts.start_local_registry()
        remove_stack_leftovers()
        before = engine_objects()
        project = Project(tmp_path_factory.mktemp("local"), mode="hosts")
        (project.dir / f"Pulumi.{STACK}.yaml").write_text((ROOT / "Pulumi.local.yaml").read_text())
        project.pulumi("stack", "init", STACK)  # reads Pulumi.local.yaml's settings
        project.set_config({
            "flink-swarm:local": {"baseImage": base, "sshPort": SSH_PORT, "uiPort": UI_PORT,
                                  "prometheusPort": PROMETHEUS_PORT, "sqlGatewayPort": SQL_GATEWAY_PORT},
            "flink-swarm:flink": {"taskSlots": 2,
                                  "image": f"{hosts.LOCAL_REGISTRY}/flink-swarm-e2e/flink:{FLINK_VERSION}"},
            "flink-swarm:ssh": {"dialAttempts": 30, "dialTimeoutSeconds": 5},
            # Prometheus and the node exporter from Debian's packages (as on the static hosts, test_static.py)
            "flink-swarm:monitoring": {
                "grafana": False, "scrapeInterval": "5s",
                **{key: f"{hosts.LOCAL_REGISTRY}/{image.split('/', 1)[1]}" for key, image in (
                    ("prometheusImage", hosts.PROMETHEUS_IMAGE), ("nodeExporterImage", hosts.NODE_EXPORTER_IMAGE))}}})
        started = time.monotonic()
        plan = project.run("up")  # its preview, then the update
        applied = time.monotonic()
        TIMINGS["local: up (CLI start to the last step applied)"] = applied - started
        for phase, start, end in plan.phases():
            TIMINGS[f"local: up phase {phase} (from {start}s)"] = end - start
        rest = project.outputs()["flinkRest"]["url"]  # this machine's loopback: no tunnel
        flink_rest.wait_taskmanagers(rest, 2)
        TIMINGS["local: up (CLI start to 2 taskmanagers registered)"] = time.monotonic() - started
        yield {"project": project, "rest": rest, "before": before, "plan": plan}
    finally:
        remove_stack_leftovers()
        hosts.teardown()


def container(name: str) -> dict:
    return json.loads(run("docker", "inspect", f"{STACK}-{name}"))[0]


def test_the_program_made_its_nodes_as_containers_on_its_own_network(cluster):
    plan = cluster["plan"]
    assert plan.counts()["same"] == 0 and plan.counts()["create"] > 0  # everything made from nothing
    for k, name in enumerate(NAMES):
        found = container(name)
        assert found["State"]["Running"] and found["Config"]["Hostname"] == name
        assert found["Config"]["Labels"][local.LABEL] == STACK
        (net,) = found["NetworkSettings"]["Networks"].items()
        assert net[0] == f"{STACK}-nodes" and net[1]["IPAddress"] == f"10.213.0.{11 + k}"
        bound = {key: [(b["HostIp"], b["HostPort"]) for b in v] for key, v in found["NetworkSettings"]["Ports"].items()}
        assert bound["22/tcp"] == [("127.0.0.1", str(SSH_PORT + k))]  # loopback only
        # Flink's UI and its SQL gateway, Prometheus
        extra = {"local-jobmanager": {"8081/tcp", "8083/tcp"}, "local-manager": {"9090/tcp"}}
        assert set(bound) == {"22/tcp", *extra.get(name, set())}
        assert all(host == "127.0.0.1" for pairs in bound.values() for host, _ in pairs)  # loopback only
        assert not found["HostConfig"]["Privileged"]
    assert cluster["rest"] == cluster["project"].outputs()["flinkUi"] == f"http://127.0.0.1:{UI_PORT}"
    gateway = cluster["project"].outputs()["flinkSqlGateway"]["url"]  # reached directly, as the job CLI does
    assert gateway == f"http://127.0.0.1:{SQL_GATEWAY_PORT}"
    with urllib.request.urlopen(f"{gateway}/v1/info", timeout=10) as answer:  # up returned: it serves
        assert json.load(answer)["productName"] == "Apache Flink"


def test_the_swarm_advertises_the_containers_addresses(cluster):
    out = run("docker", "exec", f"{STACK}-local-manager", "docker", "node", "ls", "--format", "{{.Hostname}}")
    assert sorted(out.split()) == sorted(NAMES)
    for k, name in enumerate(NAMES):
        addr = run("docker", "exec", f"{STACK}-local-manager", "docker", "node", "inspect", name,
                   "--format", "{{.Status.Addr}}")
        assert addr == f"10.213.0.{11 + k}"


def test_a_job_runs_with_the_right_counts(cluster, wordcount_jar):
    taskmanagers = flink_rest.wait_taskmanagers(cluster["rest"], 2)
    assert all(tm["slotsNumber"] == 2 for tm in taskmanagers)
    job = flink_rest.run_jar(None, wordcount_jar, project=cluster["project"])  # the CLI finds the URL itself
    assert flink_rest.wait_job(cluster["rest"], job) == "FINISHED"
    assert flink_rest.word_counts(cluster["rest"], job) == hosts.WORDCOUNT_COUNTS


def test_prometheus_answers_on_this_machines_loopback_with_every_target_up(cluster):
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    assert cluster["project"].outputs()["monitoring"] == {"prometheus": url}

    def health() -> list[tuple[str, str]]:
        with urllib.request.urlopen(f"{url}/api/v1/targets", timeout=10) as response:
            return sorted((t["labels"]["job"], t["health"]) for t in json.load(response)["data"]["activeTargets"])
    want = sorted([("flink", "up")] * 3 + [("node", "up")] * 4 + [("prometheus", "up")])
    wait("every target up", lambda: health() == want, 90, lambda: str(health()), interval=2)


def test_a_refresh_reads_back_what_the_up_wrote(cluster):
    """`pulumi refresh`: the docker stand-in reads the network and containers back from this machine's
    Engine as the provider does; the program still matches them (the next preview changes nothing)."""
    project = cluster["project"]
    refreshed = project.run("refresh")
    assert refreshed.error == "" and refreshed.changed() == {}  # nothing drifted
    read = {op["urn"].rsplit("::", 1)[1] for op in project.standin_log() if op["op"] == "Read"}
    assert {"network", *(f"{name}-node" for name in NAMES)} <= read  # each asked of the Engine
    assert project.run("preview").changed() == {}


def test_a_second_up_changes_nothing(cluster):
    started = time.monotonic()
    plan = cluster["project"].run("up")
    TIMINGS["local: second up"] = time.monotonic() - started
    assert plan.changed() == {}
    PLANS.append(f"local: second up: {plan.counts()}")


def test_destroy_leaves_nothing_behind(cluster):
    plan = cluster["project"].run("destroy")
    assert cluster["project"].resources() == {} and plan.counts()["delete"] > 0
    assert engine_objects() == cluster["before"]  # no container, volume, network or image is left
