"""End to end with `flink.python`: every Flink node builds the image with Python and PyFlink, and
PyFlink jobs with Python functions run on the cluster, submitted with `flink-swarm run --python`.

The hosts reach no internet: the Flink test image's apt and pip get Python and PyFlink's wheels from
the lab's mirror (images/mirror), as the official image would from Ubuntu's archive and PyPI.
"""
import collections
import csv
import json
import subprocess
import time

import pytest

from tests.e2e import flink_rest, hosts
from tests.e2e.proc import PLANS, TIMINGS
from tests.e2e.test_static import program_config, run_again, stack

pytestmark = pytest.mark.e2e

NODES = [("py-manager", "manager"), ("py-jobmanager", "jobmanager"), ("py-worker", "worker")]
JOBS = flink_rest.JOBS
LINES = ["to be or not to be", "that is the question", "flink on swarm with python to be"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three hosts and the program applied with flink.python on (the real CLI); torn down at the end."""
    test_hosts = hosts.start_hosts(len(NODES))
    rest = None
    try:
        hosts.start_mirror()
        nodes = [{"name": name, "cloud": "static", "role": role, "publicIp": h.ip, "user": h.user,
                  "hostKey": h.host_key} for (name, role), h in zip(NODES, test_hosts)]
        config = program_config(tmp_path_factory.mktemp("program"), nodes, test_hosts[0].private_key)
        config["flink-swarm:flink"]["python"] = True
        project = stack(tmp_path_factory.mktemp("e2e-python"), "e2e-python", config)
        started = time.monotonic()
        plan = project.run("up", "--skip-preview")
        PLANS.append(f"python: up: {plan.counts()}")
        rest = flink_rest.Tunnel(project)  # `flink-swarm ui`: no firewall opens 8081
        flink_rest.wait_taskmanagers(rest, 1)
        TIMINGS["python: up with flink.python (CLI start to the taskmanager registered)"] = \
            time.monotonic() - started
        yield {"hosts": {name: h for (name, _), h in zip(NODES, test_hosts)}, "project": project, "rest": rest}
    finally:
        if rest is not None:
            rest.close()
        hosts.teardown()


def in_service(cluster, node: str, service: str, command: str) -> str:
    """`command` (sh) in the node's container of `service`; its output."""
    rc, out, err = hosts.run_ssh(
        cluster["hosts"][node], "docker exec \"$(docker ps -q --filter "
        f"label=com.docker.swarm.service.name={service} | head -n 1)\" sh -c '{command}'")
    assert rc == 0, err
    return out


def test_the_flink_nodes_run_their_own_image_with_pyflink_of_the_clusters_flink_version(cluster):
    for node, service in (("py-jobmanager", "jobmanager"), ("py-worker", "taskmanager")):
        found = in_service(cluster, node, service, "python -c \"import pyflink.version as v; print(v.__version__)\"")
        assert found.strip() == hosts.FLINK_VERSION, node
        rc, image, _ = hosts.run_ssh(cluster["hosts"][node], "docker image ls --format '{{.Repository}}' "
                                     "--filter reference='localhost/flink-swarm-pyflink'")
        assert rc == 0 and image.split() == ["localhost/flink-swarm-pyflink"], node
    rc, images, _ = hosts.run_ssh(cluster["hosts"]["py-manager"], "docker image ls --format '{{.Repository}}'")
    # the manager runs no Flink: it builds nothing, and pulls only monitoring's images
    assert rc == 0 and set(images.split()) == {hosts.PROMETHEUS_IMAGE.rsplit(":", 1)[0],
                                               hosts.NODE_EXPORTER_IMAGE.rsplit(":", 1)[0]}, images


def test_the_build_run_again_changes_nothing(cluster):
    builds = {name: r["inputs"] for name, r in cluster["project"].resources().items()
              if r["type"] == "command:remote:Command" and name.endswith("-python")}
    assert len(builds) == 2  # the jobmanager's node and the worker
    for name, inputs in builds.items():
        _, log = run_again(name, "create", inputs)
        assert "is here already" in log, (name, log)


def submit_python(cluster, job: str, *args: str) -> str:
    """`flink-swarm run --python JOB ARGS`, as a user runs it in the project: it reads the stack's outputs
    with the real `pulumi stack output --json`. Returns the job id it prints."""
    project = cluster["project"]
    proc = subprocess.run([*flink_rest.CLI, "--output", "json", "run", "--python", str(JOBS / job), *args],
                          capture_output=True, text=True, timeout=300, cwd=project.dir, env=project.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    submitted = json.loads(proc.stdout)
    # its page, where `flink-swarm ui` serves it
    assert submitted["url"] == f"http://127.0.0.1:8081/#/job/running/{submitted['job_id']}/overview"
    return submitted["job_id"]


def written(cluster, directory: str) -> list[str]:
    """The lines of the finished files under `directory` in the worker's taskmanager container."""
    out = in_service(cluster, "py-worker", "taskmanager",
                     f"find {directory} -type f ! -name \".*\" -exec cat {{}} +")
    return out.splitlines()


def test_a_datastream_job_with_python_lambdas_finishes_with_the_right_counts(cluster):
    job_id = submit_python(cluster, "word_count.py", "/tmp/word-count", *LINES)
    assert flink_rest.wait_job(cluster["rest"], job_id) == "FINISHED"
    counts = {word: int(n) for word, n in (line.split() for line in written(cluster, "/tmp/word-count"))}
    assert counts == collections.Counter(" ".join(LINES).split())


def test_a_table_job_with_a_python_udf_finishes_with_the_right_result(cluster):
    job_id = submit_python(cluster, "shout_udf.py", "/tmp/shouted", *LINES)
    assert flink_rest.wait_job(cluster["rest"], job_id) == "FINISHED"
    rows = dict(csv.reader(written(cluster, "/tmp/shouted")))  # Flink's csv quotes "TO!"
    expected = collections.Counter(word.upper() + "!" for word in " ".join(LINES).split())
    assert {word: int(n) for word, n in rows.items()} == expected
