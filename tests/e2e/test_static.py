"""End to end with hosts you own: the program forms a swarm on `static` test hosts and runs Flink.

The hosts have Docker already. The real `pulumi` CLI runs the program (tests/cli.py) with stand-ins that
reach the hosts (tests/plugins, mode `hosts`): its remote commands run over real SSH and its docker
network and services go through the manager's Docker Engine API. Then everything is read back from the
hosts and Flink's REST API. Weave cannot be fetched here and the kernel has no ESP: the network is an
unencrypted overlay.
"""
import base64
import collections
import datetime
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

import pytest
import yaml

from components import ports
from tests.cli import Project
from tests.e2e import flink_rest, hosts
from tests.e2e.proc import FIGURES, PLANS, TIMINGS, phase, wait
from tests.grafana_queries import dashboard_queries
from tests.plugins.providers.command import RemoteCommand

pytestmark = pytest.mark.e2e

ROLES = ["manager", "jobmanager", "worker", "worker"]
NAMES = ["lab-manager", "lab-jobmanager", "lab-worker-1", "lab-worker-2"]
ADMIN = "10.77.0.1/32"  # this machine, on the test network: it runs the program, the SSH steps, the REST calls
OUTSIDER = "10.77.0.250"  # a test address in neither the cluster nor adminCidrs


def static_nodes(test_hosts) -> list[dict]:
    return [{"name": name, "cloud": "static", "role": role, "publicIp": h.ip, "user": h.user, "hostKey": h.host_key}
            for name, role, h in zip(NAMES, ROLES, test_hosts)]


def program_config(tmp_path, nodes: list[dict], key: str, ssh=None, spark: bool = False) -> dict:
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump({"nodes": nodes}))
    public_key = hosts.public_key_of(key)
    return {
        "flink-swarm:topology": str(topology),
        "flink-swarm:adminCidrs": [ADMIN],
        "flink-swarm:sshPublicKey": public_key,
        "flink-swarm:sshPrivateKey": key,
        "flink-swarm:dockerInstall": "docker.io",
        "flink-swarm:network": {"driver": "overlay", "encrypted": False},
        # a team's image: Flink's with a SQL connector jar from Maven Central (images/flink-sql)
        "flink-swarm:flink": {"image": hosts.FLINK_SQL_IMAGE, "taskSlots": 2, "jobmanagerMemory": "1024m",
                              "taskmanagerMemory": "1280m",
                              # quicker than the defaults, for a test: a checkpoint every 5 s, and a killed
                              # taskmanager missed after 20 s instead of 50
                              "settings": {"execution.checkpointing.interval": "5s", "heartbeat.timeout": 20000}},
        "flink-swarm:ssh": ssh or {"dialAttempts": 10, "dialTimeoutSeconds": 5},
        # Prometheus and the node exporters from Debian's packages; Grafana's image cannot be made here
        # (its service is proven under mocks, tests/test_monitoring.py)
        "flink-swarm:monitoring": {"prometheusImage": hosts.PROMETHEUS_IMAGE, "nodeExporterImage": hosts.NODE_EXPORTER_IMAGE,
                                   "grafana": False, "scrapeInterval": "5s"},
        # Spark beside Flink, its image built here from the pyspark sdist and Debian's Java (images/spark)
        "flink-swarm:spark": {"enabled": spark, "image": hosts.SPARK_IMAGE, "workerCores": 1, "workerMemory": "768m",
                              "settings": {"spark.executor.memory": "512m"}},
    }


def record_phases(plan, run: str) -> None:
    """Where a run's time went: each step kind's first start and last end (Plan.phases)."""
    PLANS.append(f"{run}: " + ", ".join(f"{op} {n}" for op, n in plan.counts().items() if n))
    for name, start, end in plan.phases():
        TIMINGS[f"{run} phase {name} (from {start}s)"] = end - start


def stack(folder, name: str, config: dict) -> Project:
    """A stack of the program on the test hosts: `pulumi stack init`, its config set with `pulumi config`
    (the private key as a secret)."""
    project = Project(folder, mode="hosts")
    project.pulumi("stack", "init", name)
    key = "flink-swarm:sshPrivateKey"
    project.set_config({k: v for k, v in config.items() if k != key})
    project.set_config({key: config[key]}, secret=True)
    return project


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Four hosts, the program applied to them; destroyed and brought up again (and checked) by tests."""
    test_hosts = hosts.start_hosts(len(ROLES))
    rest = None
    try:
        config = program_config(tmp_path_factory.mktemp("program"), static_nodes(test_hosts),
                                test_hosts[0].private_key, spark=True)
        project = stack(tmp_path_factory.mktemp("e2e"), "e2e", config)
        started = time.monotonic()
        with hosts.ProcessWatch() as watch:  # what any user of a host could see with `ps` meanwhile
            plan = project.run("up", "--skip-preview")
        applied = time.monotonic()
        TIMINGS["up (CLI start to the last step applied)"] = applied - started
        record_phases(plan, "up")
        rest = flink_rest.Tunnel(project)  # `flink-swarm ui`: no firewall opens 8081
        flink_rest.wait_taskmanagers(rest, 2)
        TIMINGS["services (after the last step, until 2 taskmanagers)"] = time.monotonic() - applied
        TIMINGS["up (CLI start to 2 taskmanagers registered)"] = time.monotonic() - started
        yield {"hosts": dict(zip(NAMES, test_hosts)), "project": project, "rest": rest, "ps": watch}
    finally:
        if rest is not None:
            rest.close()
        hosts.teardown()


def manager_ssh(cluster, command: str) -> str:
    rc, out, err = hosts.run_ssh(cluster["hosts"]["lab-manager"], command)
    assert rc == 0, err
    return out


def swarm_nodes(cluster) -> dict[str, dict]:
    """hostname -> docker node inspect, read on the manager."""
    ids = manager_ssh(cluster, "docker node ls -q").split()
    nodes = json.loads(manager_ssh(cluster, "docker node inspect " + " ".join(ids)))
    return {n["Description"]["Hostname"]: n for n in nodes}


def test_every_node_is_in_the_swarm_advertising_its_address_with_labels(cluster):
    nodes = swarm_nodes(cluster)
    assert len(nodes) == len(NAMES)
    for name, role in zip(NAMES, ROLES):
        host = cluster["hosts"][name]
        node = nodes[host.name]
        assert node["Status"]["State"] == "ready"
        assert node["Status"]["Addr"] == host.ip
        if role == "manager":
            assert node["ManagerStatus"]["Addr"] == f"{host.ip}:2377"
        assert node["Spec"]["Labels"] == {"role": role, "cloud": "static", "name": name}
    assert sum(bool(n.get("ManagerStatus", {}).get("Leader")) for n in nodes.values()) == 1  # one leader


def test_no_join_token_is_ever_on_a_command_line(cluster):
    tokens = manager_ssh(cluster, "docker swarm join-token -q worker; docker swarm join-token -q manager").split()
    assert len(tokens) == 2 and cluster["ps"].samples > 20
    assert [cluster["ps"].seen(token) for token in tokens] == [[], []]


def test_static_hosts_are_firewalled_from_the_port_table(cluster):
    """From an address that is neither a node nor in adminCidrs, the swarm's and Flink's ports are refused;
    between the nodes, and from adminCidrs, they answer (the whole suite runs through them). Flink's REST
    API (8081, published by Docker) is refused from everywhere, adminCidrs too: it is reached through
    the job CLI's SSH tunnel, at the jobmanager node's 127.0.0.1."""
    manager, jobmanager = cluster["hosts"]["lab-manager"], cluster["hosts"]["lab-jobmanager"]
    outsider = hosts.run("docker", "run", "--rm", "--network", hosts.NETWORK, "--ip", OUTSIDER,
                         "--entrypoint", "bash", hosts.IMAGES["vm"], "-c",
                         f"{probe(manager.ip, 2377)}; {probe(jobmanager.ip, 8081)}; {probe(manager.ip, 22)}")
    assert outsider.split() == ["refused", "refused", "refused"]
    rc, out, _ = hosts.run_ssh(cluster["hosts"]["lab-worker-1"],
                               f"{probe(manager.ip, 2377)}; {probe(jobmanager.ip, 8081)}")
    assert (rc, out.split()) == (0, ["open", "refused"])  # a node reaches the swarm, not the REST API
    admin = subprocess.run(["bash", "-c", f"{probe(jobmanager.ip, 8081)}; {probe(manager.ip, 22)}"],
                           capture_output=True, text=True, check=True)
    assert admin.stdout.split() == ["refused", "open"]  # adminCidrs (this machine): SSH, not the REST API
    rc, out, _ = hosts.run_ssh(jobmanager, probe("127.0.0.1", 8081))
    assert (rc, out.split()) == (0, ["open"])  # on the node itself, where the tunnel leads
    assert flink_rest.get(cluster["rest"], "/config")  # through the tunnel (`flink-swarm ui`)
    outputs = cluster["project"].outputs()
    assert outputs["flinkRest"] == {"node": "lab-jobmanager", "port": 8081, "url": None}
    assert outputs["flinkUi"] == "flink-swarm ui --stack e2e" and "flinkUiUrl" not in outputs


def probe(host: str, port: int) -> str:
    """A shell line printing whether a TCP connection to host:port opens (bash's /dev/tcp)."""
    return f"(timeout 3 bash -c 'echo > /dev/tcp/{host}/{port}' 2>/dev/null && echo open || echo refused)"


def test_a_wrong_host_key_fails_the_step_naming_the_node(cluster, tmp_path):
    nodes = static_nodes(cluster["hosts"].values())
    nodes[2]["hostKey"] = nodes[3]["hostKey"]  # lab-worker-1 with lab-worker-2's key
    config = program_config(tmp_path, nodes, cluster["hosts"]["lab-manager"].private_key,
                            ssh={"dialAttempts": 1, "dialTimeoutSeconds": 3})
    failed = stack(tmp_path, "e2e-wrong-key", config).run("up", "--skip-preview", check=False)
    assert "lab-worker-1-" in failed.error and "host key mismatch" in failed.error, failed.error


def test_the_network(cluster):
    (network,) = json.loads(manager_ssh(cluster, "docker network inspect flink"))
    assert network["Driver"] == "overlay" and network["Scope"] == "swarm" and network["Attachable"]
    assert network["IPAM"]["Config"][0]["Subnet"] == "172.30.0.0/16"


def test_jobmanager_on_its_node_and_one_taskmanager_per_worker(cluster):
    def placements(service):
        out = manager_ssh(cluster, f"docker service ps {service} --filter desired-state=running "
                                   "--format '{{.Node}} {{.CurrentState}}'")
        return sorted(line.split()[0] for line in out.splitlines() if " Running" in line)

    assert placements("jobmanager") == [cluster["hosts"]["lab-jobmanager"].name]
    assert placements("taskmanager") == sorted(cluster["hosts"][n].name for n in NAMES if "worker" in n)
    taskmanagers = flink_rest.wait_taskmanagers(cluster["rest"], 2)
    assert len(taskmanagers) == 2 and all(tm["slotsNumber"] == 2 for tm in taskmanagers)


def test_a_job_submitted_through_rest_finishes_with_the_right_counts(cluster, wordcount_jar):
    started = time.monotonic()
    job = flink_rest.run_jar(None, wordcount_jar, project=cluster["project"])  # the CLI's own tunnel
    assert flink_rest.wait_job(cluster["rest"], job) == "FINISHED"
    assert flink_rest.word_counts(cluster["rest"], job) == hosts.WORDCOUNT_COUNTS
    TIMINGS["job (upload, run, finish)"] = time.monotonic() - started


def kill_container(cluster, node: str, service: str) -> None:
    """`docker kill` the service's container on the node: the process dies with no goodbye."""
    rc, out, err = hosts.run_ssh(cluster["hosts"][node], "docker kill $(docker ps -q --filter "
                                 f"label=com.docker.swarm.service.name={service})")
    assert rc == 0, out + err


def worker_running(cluster, job: str) -> str:
    """The worker whose taskmanager runs the job's tasks: Flink names a taskmanager by its host name,
    its container's name on the Flink network (`taskmanager.<node id>.<task id>.flink`)."""
    rest = cluster["rest"]
    endpoints = {tm["endpoint"] for vertex in flink_rest.get(rest, f"/jobs/{job}")["vertices"]
                 for tm in flink_rest.get(rest, f"/jobs/{job}/vertices/{vertex['id']}/taskmanagers")["taskmanagers"]}
    found = []
    for name in ("lab-worker-1", "lab-worker-2"):
        rc, out, err = hosts.run_ssh(cluster["hosts"][name], "docker ps --format '{{.Names}}' --filter "
                                     "label=com.docker.swarm.service.name=taskmanager")
        assert rc == 0, out + err
        found += [name for container in out.split() if any(e.startswith(container + ".") for e in endpoints)]
    assert len(found) == 1, (endpoints, found)  # parallelism 1: one taskmanager runs it all
    return found[0]


def test_a_job_survives_a_jobmanager_kill_and_a_taskmanager_loss(cluster, ticker_jar):
    rest = cluster["rest"]
    job = flink_rest.run_jar(rest, ticker_jar)  # flink-swarm run
    flink_rest.wait_running(rest, job)
    assert job in [listed["job_id"] for listed in flink_rest.cli(rest, "list")["jobs"]]

    def floor_then_checkpoint() -> tuple[int, int]:
        """A lower bound of the state (the largest sum now), then a checkpoint that holds at least it."""
        floor = flink_rest.gauge(rest, job, "largestSum")
        latest = flink_rest.checkpoints(rest, job)["latest"]["completed"]  # ids go on across a failover
        done = flink_rest.wait_checkpoint(rest, job, after=latest["id"] if latest else 0)
        return floor, done["id"]

    floor, checkpoint = floor_then_checkpoint()
    kill_container(cluster, "lab-jobmanager", "jobmanager")
    killed = time.monotonic()
    flink_rest.wait_recovered(rest, job)  # the same job id, on a new jobmanager
    TIMINGS["jobmanager killed, until its job runs again"] = time.monotonic() - killed
    restored = flink_rest.checkpoints(rest, job)["latest"]["restored"]
    assert restored is not None and restored["id"] >= checkpoint, restored  # from its last checkpoint
    time.sleep(12)  # the metrics fetcher's interval (metrics.fetcher.update-interval, 10 s)
    assert flink_rest.gauge(rest, job, "largestSum") >= floor  # its counts went on, not from zero

    floor, checkpoint = floor_then_checkpoint()
    worker = worker_running(cluster, job)
    kill_container(cluster, worker, "taskmanager")
    lost = time.monotonic()
    wait(f"the job restarted after {worker}'s taskmanager was killed",  # noticed (heartbeat.timeout)
         lambda: flink_rest.job(rest, job)["restarts"] >= 1, 180, interval=2)
    assert flink_rest.wait_recovered(rest, job)["state"] == "RUNNING"
    TIMINGS["a taskmanager killed, until its job runs again"] = time.monotonic() - lost
    restored = flink_rest.checkpoints(rest, job)["latest"]["restored"]
    assert restored["id"] >= checkpoint, restored
    time.sleep(12)
    assert flink_rest.gauge(rest, job, "largestSum") >= floor
    assert flink_rest.cli(rest, "cancel", job)["job_id"] == job
    wait("the job cancelled", lambda: flink_rest.get(rest, f"/jobs/{job}")["state"] == "CANCELED", 60)


def prometheus(cluster, path: str, **params: str):
    """Prometheus's API on the control manager, as adminCidrs (this machine) reach it: its `data`."""
    url = f"http://{cluster['hosts']['lab-manager'].ip}:{ports.PROMETHEUS}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]


def scraped(cluster) -> list[tuple[str, str, str]]:
    """Every target as (scrape job, Flink service or node, health)."""
    return sorted((t["labels"]["job"], t["labels"].get("service") or t["labels"].get("node", ""), t["health"])
                  for t in prometheus(cluster, "/api/v1/targets")["activeTargets"])


def records_out(cluster) -> Optional[float]:
    """The running tasks' records out, once Prometheus has scraped a task (None before)."""
    found = prometheus(cluster, "/api/v1/query", query="sum(flink_taskmanager_job_task_numRecordsOut)")["result"]
    return float(found[0]["value"][1]) if found else None


def test_prometheus_scrapes_every_flink_process_and_node_and_the_dashboard_answers(cluster, ticker_jar):
    """Prometheus (Debian's, standing in for the pinned image) on the control manager finds the
    jobmanager and both taskmanagers through the swarm's DNS and every node's exporter; a running job's
    records-out counter rises between two queries, and every query of the provisioned Grafana
    dashboard returns data (so it asks for metric names Flink and the exporter really export)."""
    rest = cluster["rest"]
    job = flink_rest.run_jar(rest, ticker_jar)
    flink_rest.wait_running(rest, job)
    want = sorted([("flink", "jobmanager", "up"), ("flink", "taskmanager", "up"), ("flink", "taskmanager", "up"),
                   *(("node", name, "up") for name in NAMES), ("prometheus", "", "up")])
    wait("every target scraped and up", lambda: scraped(cluster) == want, 90, interval=2, diagnose=lambda: "\n".join(
        f"{t['scrapeUrl']}: {t['health']} {t['lastError']}" for t in prometheus(cluster, "/api/v1/targets")["activeTargets"]))
    first = wait("the job's tasks scraped, their records out counted", lambda: records_out(cluster), 60, interval=2)
    flink_rest.wait_checkpoint(rest, job, after=0)  # the checkpoint panels have a value
    wait("the job's records out counted higher", lambda: records_out(cluster) > first, 30, interval=2)
    time.sleep(6)  # a scrape after the checkpoint (scrapeInterval 5s)
    empty = [(q.panel, q.expr) for q in dashboard_queries(rate_interval="1m")
             if not prometheus(cluster, "/api/v1/query", query=q.expr)["result"]]
    assert empty == []
    record_monitoring_costs(cluster)
    assert flink_rest.cli(rest, "cancel", job)["job_id"] == job


def record_monitoring_costs(cluster) -> None:
    """What monitoring costs (docs/monitoring.md), from Prometheus's own metrics: memory of Prometheus and
    of the exporters, series, and samples a second, with disk a day at the default 15 s scrape (the test
    scrapes every 5 s) at Prometheus's 1-2 bytes a sample (its docs, "Storage": operational aspects)."""
    def value(expr: str) -> float:
        return float(prometheus(cluster, "/api/v1/query", query=expr)["result"][0]["value"][1])

    per_second = value("rate(prometheus_tsdb_head_samples_appended_total[1m])")
    prometheus_rss = value('process_resident_memory_bytes{job="prometheus"}')
    exporter_rss = value('max(process_resident_memory_bytes{job="node"})')
    FIGURES["monitoring: Prometheus resident memory"] = f"{prometheus_rss / 2**20:.0f} MiB"
    FIGURES["monitoring: node exporter resident memory, largest"] = f"{exporter_rss / 2**20:.0f} MiB"
    FIGURES["monitoring: series (4 nodes, 2 taskmanagers, 1 job)"] = f"{value('prometheus_tsdb_head_series'):.0f}"
    FIGURES["monitoring: samples a second at a 5 s scrape"] = f"{per_second:.0f}"
    FIGURES["monitoring: disk a day at the default 15 s scrape"] = \
        f"{per_second / 3 * 86400 * 1 / 2**20:.0f}-{per_second / 3 * 86400 * 2 / 2**20:.0f} MiB"


def test_prometheus_answers_admin_cidrs_and_the_exporters_only_the_cluster(cluster):
    manager = cluster["hosts"]["lab-manager"]
    outsider = hosts.run("docker", "run", "--rm", "--network", hosts.NETWORK, "--ip", OUTSIDER,
                         "--entrypoint", "bash", hosts.IMAGES["vm"], "-c",
                         f"{probe(manager.ip, ports.PROMETHEUS)}; {probe(manager.ip, ports.NODE_EXPORTER)}")
    assert outsider.split() == ["refused", "refused"]
    rc, out, _ = hosts.run_ssh(cluster["hosts"]["lab-worker-1"], probe(manager.ip, ports.NODE_EXPORTER))
    assert (rc, out.split()) == (0, ["open"])  # a node scrapes any node's exporter
    admin = subprocess.run(["bash", "-c", probe(manager.ip, ports.PROMETHEUS)], capture_output=True, text=True,
                           check=True)
    assert admin.stdout.split() == ["open"]
    outputs = cluster["project"].outputs()
    assert outputs["monitoring"] == {"prometheus": f"http://{manager.ip}:{ports.PROMETHEUS}"}
    assert outputs.get("grafanaAdminPassword") is None  # grafana: false (a null output is not kept)


SCREENSHOTS = Path(os.environ.get("FLINK_SWARM_E2E_ARTIFACTS", "/tmp/flink-swarm-e2e")) / "screenshots"


def test_a_browser_shows_flinks_taskmanagers_and_prometheus_targets_and_a_graph(cluster):
    """Debian's chromium, headless, driven by Playwright: Flink's UI (through `flink-swarm ui`'s tunnel)
    counts both taskmanagers; Prometheus's targets page shows every target up; its graph of a Flink
    metric has series. The screenshots stay in SCREENSHOTS."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -r requirements-dev.txt")
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: apt-get install chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    prometheus_url = f"http://{cluster['hosts']['lab-manager'].ip}:{ports.PROMETHEUS}"
    metric = "flink_taskmanager_job_task_numRecordsOut"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})

            def shown(url: str, shot: str, pattern: str) -> re.Match:
                page.goto(url)
                try:
                    page.wait_for_function(f"() => new RegExp({json.dumps(pattern)}).test(document.body.innerText)",
                                           timeout=60_000)
                finally:
                    page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
                return re.search(pattern, page.inner_text("body"))

            assert shown(f"{cluster['rest']}/#/overview", "flink-overview.png", r"Task Managers\s*(\d+)")[1] == "2"
            # Prometheus's root leads to its UI's graph page: Debian's build (the stand-in) serves the
            # classic UI under /classic, the official image its own UI at the root
            page.goto(f"{prometheus_url}/")
            ui = prometheus_url + urllib.parse.urlparse(page.url).path.removesuffix("/graph")
            targets = shown(f"{ui}/targets", "prometheus-targets.png", r"node \(\d+/\d+ up\)")
            text = page.inner_text("body")
            assert targets and re.search(r"flink \(3/3 up\)", text) and re.search(r"node \(4/4 up\)", text), text
            graph = shown(f"{ui}/graph?g0.expr={metric}&g0.tab=0&g0.range_input=5m",
                          "prometheus-graph.png", metric + r"\{")
            assert graph
        finally:
            browser.close()
    print(f"[e2e] screenshots: {SCREENSHOTS}")


def cli(cluster, *args: str) -> subprocess.CompletedProcess:
    project = cluster["project"]
    return subprocess.run([*flink_rest.CLI, *args], cwd=project.dir, env=project.env, capture_output=True,
                          text=True, timeout=120)


def test_logs_and_a_shell_through_the_job_cli(cluster):
    logs = cli(cluster, "logs", "jobmanager", "--tail", "5")
    lines = logs.stdout.splitlines()  # 5 a task: the jobmanager's task killed earlier in the suite is still kept
    assert logs.returncode == 0 and lines and len(lines) % 5 == 0, logs.stderr
    assert all(re.match(r"jobmanager\.1\.\w+@", line) for line in lines), lines  # docker service logs' prefix
    listed = cli(cluster, "shell", "taskmanager", "--node", "lab-worker-2", "--", "ls", "/opt/flink/lib")
    assert listed.returncode == 0 and "flink-dist" in listed.stdout, listed.stderr
    assert cli(cluster, "shell", "jobmanager", "--", "hostname").returncode == 0
    assert cli(cluster, "shell", "taskmanager", "--", "false").returncode == 1  # the command's own exit code
    unknown = cli(cluster, "logs", "no-such-service")
    assert unknown.returncode == 1 and "no-such-service" in unknown.stderr  # docker's own error, passed on


SQL_NUMBERS = ("CREATE TABLE numbers (id BIGINT, word STRING) WITH ('connector' = 'datagen', "
               "'number-of-rows' = '1000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000', "
               "'fields.word.length' = '3');")
SQL_OUT = "/tmp/flink-swarm-sql/out"  # in each taskmanager's container


def avro_rows(data: bytes) -> int:
    """The rows of an Avro object container file: its header (magic, metadata map, sync marker), then blocks
    of (row count, byte size, rows, sync marker) (Avro specification, "Object Container Files")."""
    at = 0

    def long() -> int:  # zig-zag varint
        nonlocal at
        shift = value = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return (value >> 1) ^ -(value & 1)

    assert data[:4] == b"Obj\x01"
    at = 4
    while (entries := long()) != 0:  # the metadata map's blocks of (string key, bytes value)
        if entries < 0:
            entries, _ = -entries, long()
        for _ in range(2 * entries):
            size = long()
            at += size
    at += 16
    rows = 0
    while at < len(data):
        rows += long()
        size = long()  # (not `at += long() + 16`: `at` would be read before long() moves it)
        at += size + 16
    return rows


def test_sql_through_the_gateway_insert_select_and_a_bad_statement(cluster, tmp_path):
    """The SQL gateway beside the jobmanager, through `flink-swarm sql` (SSH to its loopback port): a file
    whose INSERT writes a datagen table into the filesystem in Avro (the team image's connector jar from
    Maven Central) runs a job that writes every row; an aggregate SELECT prints the right rows; a bad
    statement prints Flink's own error in one line and exits 1."""
    script = tmp_path / "insert.sql"
    # Streaming: each taskmanager commits its own files at checkpoints (the last as the bounded source ends);
    # a batch job's files are committed by the jobmanager, which sees no taskmanager's file:// directory.
    script.write_text(f"""-- datagen's 1000 rows into Avro files
{SQL_NUMBERS}
CREATE TABLE out_avro (id BIGINT, word STRING) WITH (
  'connector' = 'filesystem', 'path' = 'file://{SQL_OUT}', 'format' = 'avro');
INSERT INTO out_avro SELECT id, word FROM numbers;
""")
    done = cli(cluster, "--output", "json", "sql", str(script))
    assert done.returncode == 0, done.stderr
    [job] = [s for s in json.loads(done.stdout)["statements"] if s["kind"] == "job"]
    assert flink_rest.wait_job(cluster["rest"], job["job_id"]) == "FINISHED"
    rows = 0
    for worker in ("lab-worker-1", "lab-worker-2"):
        listed = cli(cluster, "shell", "taskmanager", "--node", worker, "--", "sh", "-c",
                     f"for f in {SQL_OUT}/part-*; do [ -f \"$f\" ] && base64 -w0 \"$f\" && echo; done; true")
        assert listed.returncode == 0, listed.stderr
        rows += sum(avro_rows(base64.b64decode(line)) for line in listed.stdout.split())
    assert rows == 1000
    query = cli(cluster, "--output", "json", "sql", "-e", "SET 'execution.runtime-mode' = 'batch'; " + SQL_NUMBERS +
                " SELECT id % 3 AS r, COUNT(*) AS n, SUM(id) AS s FROM numbers GROUP BY id % 3;")
    assert query.returncode == 0, query.stderr
    [result] = [s for s in json.loads(query.stdout)["statements"] if s["kind"] == "rows"]
    assert result["columns"] == ["r", "n", "s"]
    assert sorted(result["rows"]) == [[0, 333, 166833], [1, 334, 167167], [2, 333, 166500]]
    text = cli(cluster, "sql", "-e", "SELECT 1 + 1 AS two;")
    assert text.returncode == 0 and re.search(r"^\s*two\s*$", text.stdout, re.M) and "2" in text.stdout, text.stdout
    bad = cli(cluster, "sql", "-e", "SELECT * FROM no_such_table;")
    assert bad.returncode == 1 and "no_such_table" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def spark_workers(cluster) -> list[dict]:
    listed = cli(cluster, "--output", "json", "spark", "list")
    assert listed.returncode == 0, listed.stderr
    return [w for w in json.loads(listed.stdout)["workers"] if w.get("state") == "ALIVE"]


def test_spark_runs_a_word_count_on_every_worker_while_a_flink_job_keeps_running(cluster, ticker_jar):
    """Spark's master beside the jobmanager shows a worker per worker node with its cores and memory; a
    PySpark word count submitted through `flink-swarm spark submit` prints the right counts, its tasks run
    on both workers, and a Flink job running meanwhile keeps running and counting."""
    workers = wait("two Spark workers alive", lambda: (found := spark_workers(cluster)) and len(found) == 2 and found,
                   120, interval=3)
    assert [(w["cores"], w["memory_mb"]) for w in workers] == [(1, 768), (1, 768)]
    rest = cluster["rest"]
    job = flink_rest.run_jar(rest, ticker_jar)
    flink_rest.wait_running(rest, job)
    before = flink_rest.gauge(rest, job, "largestSum")
    lines = ["to be or not to be", "that is the question", "flink and spark on one swarm to be"]
    started = time.monotonic()
    submitted = subprocess.run([*flink_rest.CLI, "spark", "submit", str(Path(__file__).parent / "jobs" / "spark_word_count.py"),
                                *lines], cwd=cluster["project"].dir, env=cluster["project"].env, capture_output=True,
                               text=True, timeout=600)
    TIMINGS["spark: a PySpark word count submitted and done"] = time.monotonic() - started
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    printed = dict(line.rsplit(" ", 1) for line in submitted.stdout.splitlines() if re.fullmatch(r"\S+ \d+", line))
    want = collections.Counter(word for line in lines for word in line.split())
    assert {word: int(n) for word, n in printed.items() if word != "executors"} == want
    assert printed["executors"] == "2"  # both workers ran its tasks
    assert re.search(r"app-\d{14}-\d{4}", submitted.stdout + submitted.stderr)
    assert flink_rest.job(rest, job)["state"] == "RUNNING"
    # still counting (the REST API's metrics are fetched every 10 s: metrics.fetcher.update-interval)
    wait("the Flink job counting on", lambda: flink_rest.gauge(rest, job, "largestSum") > before, 60, interval=3)
    assert flink_rest.cli(rest, "cancel", job)["job_id"] == job


def test_a_refresh_reads_the_swarm_back_and_the_program_still_matches_it(cluster):
    """`pulumi refresh`: the network and services read back through the manager's Engine API over SSH,
    as the provider reads them; the next preview changes nothing."""
    project = cluster["project"]
    refreshed = project.run("refresh")
    assert refreshed.error == "" and refreshed.changed() == {}  # nothing drifted
    read = {op["urn"].rsplit("::", 1)[1] for op in project.standin_log() if op["op"] == "Read"}
    assert {"flink-net", "zookeeper", "jobmanager", "taskmanager"} <= read  # each asked of the manager's Engine
    assert project.run("preview").changed() == {}


def commands(cluster, key: str) -> list[tuple[str, dict, dict]]:
    """(name, inputs, outputs) of the remote commands in the stack's state that have `key` (create or delete)."""
    return [(name, r["inputs"], r["outputs"]) for name, r in cluster["project"].resources().items()
            if r["type"] == "command:remote:Command" and r["inputs"].get(key)]


def run_again(name: str, operation: str, inputs: dict) -> tuple[str, str]:
    """A command's script run once more over SSH, as pulumi-command runs it: (stdout, stderr)."""
    return RemoteCommand().run(name, operation, inputs, inputs[operation], {})


def test_every_host_script_run_again_changes_nothing(cluster):
    def state():
        nodes = swarm_nodes(cluster)
        return {h: (n["ID"], n["Spec"], n["Status"]["Addr"]) for h, n in nodes.items()}

    before = state()
    reruns = commands(cluster, "create")
    assert len(reruns) == 4 + 4 + 1 + 1 + 4 + 1 + 3 + 1 + 2 + 4 + 4  # firewall x4, docker x4, init, tokens,
    # joins x4, labels, pulls x3, the jobmanager's state, its flink-ready and flink-serving; monitoring's pulls x2
    # (no Grafana), data directories and wait; Spark's pulls x3 and its wait
    for name, inputs, outputs in reruns:
        again, _ = run_again(name, "create", inputs)
        if name.endswith(("swarm-init", "-join", "swarm-tokens", "-pull")):
            assert again == outputs["stdout"], name  # the same node IDs, tokens, image digest
    assert state() == before


def test_a_destroy_where_the_program_never_ran_stops_before_deleting_anything(cluster, tmp_path):
    """No key files on this "machine" (an empty FLINK_SWARM_KEY_DIR) and no --run-program: the destroy
    guard (components/steps.py destroy_guard) stops it before the docker provider tries, naming the file and the fix."""
    project = cluster["project"]
    before = set(project.resources())
    failed = project.run("destroy", check=False, env={"FLINK_SWARM_KEY_DIR": str(tmp_path / "never-ran")})
    assert "never-ran/flink-swarm-e2e.known_hosts is not on this machine" in failed.error, failed.error
    assert "pulumi destroy --run-program" in failed.error
    assert [s for s in failed.steps if s.op == "delete"] == [] and set(project.resources()) == before


def test_destroy_leaves_no_node_in_the_swarm(cluster):
    deletes = commands(cluster, "delete")
    plan = cluster["project"].run("destroy")
    order = [s.name for s in plan.steps]
    assert max(order.index("taskmanager"), order.index("jobmanager")) < order.index("flink-net")
    # ZooKeeper goes once the jobmanager's task has stopped, having closed its session
    assert order.index("jobmanager") < order.index("lab-jobmanager-flink-stopped") < order.index("zookeeper")
    # ... and before any node is drained (which would stop ZooKeeper early) or leaves
    assert order.index("lab-jobmanager-flink-stopped") < min(
        order.index(n) for n in order if n.endswith(("-member", "-join")))
    assert order.index("flink-net") < order.index("lab-manager-join")  # the control manager leaves last
    assert order.index("lab-worker-1-member") < order.index("lab-worker-1-join")  # removed, then it leaves
    removals = [order.index(n) for n in order if n.endswith("-member")]
    assert max(removals) < order.index("lab-manager-join")  # the manager removes every node, then leaves
    assert cluster["project"].resources() == {}
    for name, host in cluster["hosts"].items():
        rc, out, err = hosts.run_ssh(host, "docker info --format '{{.Swarm.LocalNodeState}}'")
        assert (rc, out.strip()) == (0, "inactive"), f"{name}: {out} {err}"
    for name, inputs, _ in deletes:  # the delete scripts are idempotent too: a second run succeeds
        run_again(name, "delete", inputs)
    for host in cluster["hosts"].values():
        assert hosts.run_ssh(host, "docker info --format '{{.Swarm.LocalNodeState}}'")[1].strip() == "inactive"


def test_an_up_after_destroy_has_a_leader_at_once(cluster):
    """The state directory outlives the stack, and ZooKeeper's sessions with it. The destroy removed
    ZooKeeper only once the jobmanager had stopped and closed its session, so the next jobmanager, on
    the same data, is leader as soon as it asks (an open old session would hold it back until it
    expired: 20 s after ZooKeeper's start). Warm: the image is on the hosts already."""
    # Docker's bug (bench/FINDINGS.md "The up after a destroy"): a daemon whose leave broadcast timed out (all
    # nodes leave at once) keeps its gossip listener on 7946 until it restarts, and its next swarm has
    # no gossip: its overlay resolves no service of another node. swarm-leave.sh restarts such a daemon
    # on a systemd host and, elsewhere (these hosts), says to; the test does what it says.
    held = f"sudo -n ss -Hltnp 'sport = :{ports.SWARM_GOSSIP}' | grep -q '\"dockerd\"'"  # as swarm-leave.sh checks
    stuck = [h for h in cluster["hosts"].values() if hosts.run_ssh(h, held)[0] == 0]
    with phase(f"restart of the {len(stuck)} host(s) whose dockerd kept port {ports.SWARM_GOSSIP} after leaving"):
        for host in stuck:
            hosts.stop_host(host)
            hosts.start_host(host)
    cluster["rest"].close()  # its SSH connection may have gone with a restarted host: the next call opens it again
    started = time.monotonic()
    plan = cluster["project"].run("up", "--skip-preview")
    TIMINGS["up after destroy, warm (CLI start to the last step applied)"] = time.monotonic() - started
    record_phases(plan, "up after destroy, warm:")
    flink_rest.wait_taskmanagers(cluster["rest"], 2)
    TIMINGS["up after destroy, warm (CLI start to 2 taskmanagers registered)"] = time.monotonic() - started
    rc, out, err = hosts.run_ssh(cluster["hosts"]["lab-jobmanager"], "docker logs $(docker ps -q --filter "
                                 "label=com.docker.swarm.service.name=jobmanager) 2>&1")
    assert rc == 0, err

    def at(text: str) -> datetime.datetime:  # the time of the jobmanager's first log line containing text
        line = next(line for line in out.splitlines() if text in line)
        return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")

    asked = at("LeaderContender has been registered under component 'resource_manager'")
    waited = (at("Resource manager service is granted leadership") - asked).total_seconds()
    assert waited < 2, f"the jobmanager waited {waited:.1f}s for leadership"


def test_a_stopped_worker_gets_its_taskmanager_back_and_jobs_still_run(cluster, wordcount_jar):
    worker = cluster["hosts"]["lab-worker-2"]
    hosts.stop_host(worker)
    wait("the stopped worker's taskmanager gone",
         lambda: len(flink_rest.get(cluster["rest"], "/taskmanagers")["taskmanagers"]) <= 1, 180, interval=3)
    started = time.monotonic()
    hosts.start_host(worker)
    flink_rest.wait_taskmanagers(cluster["rest"], 2, timeout=300)
    TIMINGS["worker back (host start to taskmanager registered)"] = time.monotonic() - started
    wait("its Spark worker back", lambda: len(spark_workers(cluster)) == 2, 180, interval=3)
    job = flink_rest.run_jar(cluster["rest"], wordcount_jar)
    assert flink_rest.wait_job(cluster["rest"], job) == "FINISHED"
    assert flink_rest.word_counts(cluster["rest"], job) == hosts.WORDCOUNT_COUNTS


def test_a_host_that_is_down_fails_fast_naming_it(cluster, tmp_path):
    host_key = cluster["hosts"]["lab-manager"].host_key  # any: nothing answers at these addresses
    nodes = [{"name": f"ghost-{role}", "cloud": "static", "role": role, "publicIp": f"10.77.0.{97 + i}",
              "hostKey": host_key} for i, role in enumerate(("manager", "jobmanager", "worker"))]
    config = program_config(tmp_path, nodes, cluster["hosts"]["lab-manager"].private_key,
                            ssh={"dialAttempts": 2, "dialTimeoutSeconds": 3})
    project = stack(tmp_path, "e2e-down", config)
    started = time.monotonic()
    failed = project.run("up", "--skip-preview", check=False)
    elapsed = time.monotonic() - started
    assert re.search(r"ghost-\w+-(firewall|state)\b", failed.error), failed.error  # a host's first step
    assert "after 2 failed attempts" in failed.error and "10.77.0.9" in failed.error
    assert elapsed < 60, f"took {elapsed:.0f}s"
