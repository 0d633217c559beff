"""The Flink layer under mocks: provider on the manager, network per driver, the two services."""
import hashlib
import json
import re
import shlex

import pytest
import yaml

from tests.harness import edit_script, is_secret

CMD = "command:remote:Command"
PROVIDER, NETWORK, SERVICE = "pulumi:providers:docker", "docker:index/network:Network", "docker:index/service:Service"
MTU = "com.docker.network.driver.mtu"
DRIVERS = [({"driver": "weave"}, "weaveworks/net-plugin:latest_release", None),
           ({"driver": "overlay"}, "overlay", {"encrypted": "true", MTU: "1460"}),
           ({"driver": "overlay", "encrypted": False}, "overlay", {MTU: "1460"})]

READINESS = {(CMD, "azure-flink-jobmanager-flink-ready"), (CMD, "azure-flink-jobmanager-flink-serving")}


def pinned(run, image):
    """The image as the jobmanager node's pull printed it, pinned by digest (the fake's digest)."""
    (jm_pull,) = [c for c in run.of_type(CMD) if c.name == "azure-flink-jobmanager-pull"]
    assert shlex.split(jm_pull.inputs["create"])[-1] == image
    return f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def ip_of(run, role):
    return next(r["publicIp"] for r in run.outputs["nodes"] if r["role"] == role)


def properties(service):
    text = service.inputs["taskSpec"]["containerSpec"]["env"]["FLINK_PROPERTIES"]
    lines = text.splitlines()
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+: \S+", line) for line in lines), lines  # no spaces in values
    return dict(line.split(": ") for line in lines)


@pytest.fixture(params=DRIVERS, ids=["weave", "overlay-encrypted", "overlay-plain"])
def driver_run(request, program):
    network, driver, options = request.param
    return program(network=network), driver, options


def test_network_per_driver(driver_run):
    run, driver, options = driver_run
    (net,) = run.of_type(NETWORK)
    assert net.inputs["driver"] == driver
    assert net.inputs["attachable"] is True
    # the gateway Docker allocates, written down: a read-back gateway would replace the network
    assert net.inputs["ipamConfigs"] == [{"subnet": "172.30.0.0/16", "gateway": "172.30.0.1"}]
    assert net.inputs.get("options") == options
    labels = {label["label"]: label["value"] for label in net.inputs["labels"]}
    init = run.get("swarm-init")
    assert labels.pop("flink-swarm.swarm") == "nodeid-" + hashlib.sha256(init.name.encode()).hexdigest()[:12]
    assert run.depends_on(net, init)  # a swarm initialised anew gets a new network
    # Docker adds its own vxlanid_list to the options: they are left out of the diff, the label carries them
    assert labels == ({"flink-swarm.options": ",".join(f"{k}={v}" for k, v in sorted(options.items()))}
                      if options else {})
    assert net.inputs.get("options") == options


def test_the_overlay_takes_the_hosts_mtu(program):
    """Docker's overlay subtracts its VXLAN (and ESP) overhead from this MTU for the containers; left
    at 1500 it would drop full-size packets on Google Cloud's 1460 (moby ov_network.go, encryption.go)."""
    (net,) = program(network={"driver": "overlay", "mtu": 1400}).of_type(NETWORK)
    assert net.inputs["options"][MTU] == "1400"
    assert {"label": "flink-swarm.options", "value": f"{MTU}=1400,encrypted=true"} in net.inputs["labels"]


def test_provider_reaches_the_manager_over_ssh_with_the_key_file(driver_run, tmp_path):
    run, _, _ = driver_run
    (provider,) = run.of_type(PROVIDER)
    assert provider.inputs["host"] == f"ssh://ubuntu@{run.outputs['managerAddress']}:22"
    opts = json.loads(provider.inputs["sshOpts"])  # provider config arrives JSON-encoded
    key_file = str(tmp_path / "keys" / "flink-swarm-test")
    assert opts[opts.index("-i") + 1] == key_file
    assert "BatchMode=yes" in opts and "IdentitiesOnly=yes" in opts
    assert not any("PRIVATE KEY" in str(v) for v in provider.inputs.values())  # a path, never key material
    for res in run.of_type(NETWORK) + run.of_type(SERVICE):
        assert res.provider.startswith(provider.urn + "::")


def test_the_network_follows_the_control_manager_and_the_flink_services_the_whole_swarm(driver_run):
    run, driver, _ = driver_run
    (provider,), (net,) = run.of_type(PROVIDER), run.of_type(NETWORK)
    control = next(r["name"] for r in run.outputs["nodes"] if r["role"] == "manager")
    formed = [c for c in run.of_type(CMD) if c.name.endswith(("-labels", "-member", "-weave"))]
    assert len(formed) == (1 + 5 + 5 if driver != "overlay" else 1 + 5)  # labels, members, plugins
    joins = [c for c in run.of_type(CMD) if c.name.endswith("-join")]
    # The provider, the network and ZooKeeper need the control manager in the swarm, with its plugin ...
    own = [run.get(f"{control}-join", CMD), *([run.get(f"{control}-weave", CMD)] if driver != "overlay" else [])]
    zk = run.get("zookeeper", SERVICE)
    for res in (provider, net, zk):
        assert all(run.depends_on(res, c) for c in own), res.name
        others = [c for c in formed + joins if c not in own and run.depends_on(res, c)]
        assert others == [], (res.name, [c.name for c in others])  # not the other nodes: they join meanwhile
    # ... the jobmanager and taskmanagers wait for every node (joined, labelled, with its plugin), and so
    # does the delete-only wait for the jobmanager's stop: on destroy no node leaves or is drained before
    stopped = run.get(f"{next(r['name'] for r in run.outputs['nodes'] if r['role'] == 'jobmanager')}-flink-stopped",
                      CMD)
    for res in (run.get("jobmanager", SERVICE), run.get("taskmanager", SERVICE), stopped):
        assert all(run.depends_on(res, c) for c in formed + joins), res.name
    for service in run.of_type(SERVICE):  # every one on the Flink network but the node exporter (host network)
        assert run.depends_on(service, net) == (service.name != "node-exporter") and run.depends_on(service, provider)


def test_jobmanager_service(driver_run):
    run, _, _ = driver_run
    jm = run.get("jobmanager", SERVICE).inputs
    assert jm["name"] == "jobmanager"
    assert jm["mode"] == {"replicated": {"replicas": 1}}
    spec = jm["taskSpec"]
    assert spec["containerSpec"]["image"] == pinned(run, "flink:1.20.3-java17")
    assert spec["containerSpec"]["args"] == ["jobmanager"]
    assert spec["placement"]["constraints"] == ["node.labels.role == jobmanager"]
    assert spec["networksAdvanceds"] == [{"id": "flink-net-id", "aliases": ["jobmanager"]}]
    assert spec["restartPolicy"]["condition"] == "any"
    props = properties(run.get("jobmanager", SERVICE))
    assert props["jobmanager.rpc.address"] == "jobmanager"
    assert (props["jobmanager.rpc.port"], props["blob.server.port"], props["query.server.port"]) == (
        "6123", "6124", "6125")
    assert jm["endpointSpec"] == {"mode": "dnsrr", "ports": [
        {"name": "ui", "targetPort": 8081, "publishedPort": 8081, "protocol": "tcp", "publishMode": "host"}]}
    assert jm["updateConfig"]["order"] == "stop-first" and jm["updateConfig"]["failureAction"] == "rollback"


def test_taskmanager_service(driver_run):
    run, _, _ = driver_run
    tm = run.get("taskmanager", SERVICE).inputs
    assert tm["mode"] == {"global": True}  # one per node that matches, following the worker count
    assert tm["taskSpec"]["placement"]["constraints"] == ["node.labels.role == worker"]
    assert tm["taskSpec"]["containerSpec"]["args"] == ["taskmanager"]
    assert tm["endpointSpec"] == {"mode": "dnsrr"}  # nothing published
    props = properties(run.get("taskmanager", SERVICE))
    assert props["jobmanager.rpc.address"] == "jobmanager"
    assert (props["taskmanager.rpc.port"], props["taskmanager.data.port"]) == ("6127", "6126")
    assert props["taskmanager.numberOfTaskSlots"] == "2"
    assert props["taskmanager.memory.process.size"] == "4096m"


def test_flink_settings_come_from_config(program):
    run = program(flink={"image": "flink:2.1.0-java21", "taskSlots": 4, "taskmanagerMemory": "6g",
                         "jobmanagerMemory": "1536m", "parallelism": 3})
    tm, jm = run.get("taskmanager", SERVICE), run.get("jobmanager", SERVICE)
    assert tm.inputs["taskSpec"]["containerSpec"]["image"] == pinned(run, "flink:2.1.0-java21")
    assert properties(tm)["taskmanager.numberOfTaskSlots"] == "4"
    assert properties(tm)["taskmanager.memory.process.size"] == "6g"
    assert properties(jm)["jobmanager.memory.process.size"] == "1536m"
    assert properties(jm)["parallelism.default"] == "3"


def test_changing_flink_touches_only_the_services(program):
    def inputs(run):
        return {(r.type, r.name): r.diffed_inputs for r in run.resources}

    before = inputs(program())
    after = inputs(program(flink={"image": "flink:1.20.2-java17", "taskSlots": 8}))
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key] != after[key]}
    pulls = {(CMD, f"{n}-pull") for n in ["azure-flink-jobmanager", "azure-swarm-worker-1", "azure-swarm-worker-2",
                                          "google-cloud-worker-1"]}
    services = {(SERVICE, name) for name in ("jobmanager", "taskmanager", "zookeeper", "sql-gateway")}  # the image
    assert changed == services | pulls | READINESS  # no node, no swarm step


def test_a_flink_setting_updates_the_flink_services_only(program):
    def inputs(run):
        return {(r.type, r.name): r.diffed_inputs for r in run.resources}

    before = inputs(program())
    after = inputs(program(flink={"settings": {"state.backend.type": "rocksdb"}}))
    assert {key for key in before if before[key] != after[key]} == {  # the SQL gateway's jobs take them too
        (SERVICE, "jobmanager"), (SERVICE, "taskmanager"), (SERVICE, "sql-gateway"), *READINESS}


def test_outputs(program):
    run = program()
    jm_ip = ip_of(run, "jobmanager")
    # Flink's REST API runs any jar: on a cloud it answers on its node's loopback only, through SSH
    assert run.outputs["flinkRest"] == {"node": "azure-flink-jobmanager", "port": 8081, "url": None}
    assert run.outputs["flinkUi"] == "flink-swarm ui --stack test"
    assert run.outputs["jobmanagerAddress"] == jm_ip
    assert not {"flinkUiUrl", "submitJob"} & set(run.outputs)
    assert not {"flinkRest", "flinkUi", "jobmanagerAddress", "managerAddress"} & run.secret_outputs


def test_no_secret_reaches_the_services(program):
    run = program()
    for res in run.of_type(SERVICE) + run.of_type(NETWORK):
        assert not is_secret(res.raw["taskSpec"] if "taskSpec" in res.raw else res.raw["name"])
        assert "PRIVATE KEY" not in str(res.inputs) and "SWMTKN" not in str(res.inputs)


def test_flink_nodes_pull_the_image_while_the_swarm_forms(program):
    run = program()
    pulls = {c.name.removesuffix("-pull"): c for c in run.of_type(CMD) if c.name.endswith("-pull")
             and "Monitoring" not in c.parent}
    flink_nodes = [r for r in run.outputs["nodes"] if r["role"] in ("jobmanager", "worker")]
    assert sorted(pulls) == sorted(r["name"] for r in flink_nodes)  # not on the manager: it runs no Flink
    for row in flink_nodes:
        pull = pulls[row["name"]]
        assert pull.inputs["connection"]["host"] == row["publicIp"]
        words = shlex.split(pull.inputs["create"])
        assert words[5:] == ["image-pull", "flink:1.20.3-java17"]
        assert run.depends_on(pull, run.get(f"{row['name']}-docker"))
        assert not run.depends_on(pull, run.get(f"{row['name']}-join"))  # it overlaps the joins
    # Only the services (the step between ZooKeeper and the jobmanager, the readiness steps after them)
    # wait, for the jobmanager node's pull: it pins the image they run.
    services = {r.name for r in run.of_type(SERVICE) if "Monitoring" not in r.parent} | {
        "azure-flink-jobmanager-flink-stopped"} | {name for _, name in READINESS}
    jm_pull = pulls["azure-flink-jobmanager"]
    for res in run.resources:
        if res.name == "ssh-key-files":  # the destroy guard: delete only, after everything (test_security)
            continue
        waits = {p.name for p in pulls.values() if res is not p and run.depends_on(res, p)}
        assert waits == ({jm_pull.name} if res.name in services else set()), res.name


DEFAULT_SETTINGS = {"execution.checkpointing.interval": "30s", "restart-strategy.type": "exponential-delay",
                    "state.checkpoint-storage": "jobmanager"}


def test_settings_reach_both_services_over_the_defaults(program):
    run = program(flink={"settings": {"execution.checkpointing.interval": "2min", "restart-strategy.type": None,
                                      "state.backend.type": "rocksdb", "execution.checkpointing.unaligned": True}})
    for name in ("jobmanager", "taskmanager"):
        props = properties(run.get(name, SERVICE))
        assert props["execution.checkpointing.interval"] == "2min"  # the stack's value over the default
        assert "restart-strategy.type" not in props  # null drops a default
        assert props["state.backend.type"] == "rocksdb" and props["execution.checkpointing.unaligned"] == "true"
        assert props["state.checkpoint-storage"] == "jobmanager"  # other defaults stay
    defaults = properties(program().get("jobmanager", SERVICE))
    assert DEFAULT_SETTINGS.items() <= defaults.items()


STATE_KEYS = {"state.checkpoint-storage", "state.checkpoints.dir", "state.savepoints.dir"}


def test_the_keys_the_program_writes_are_the_ones_a_stack_may_not_set_and_the_state_location(program):
    from components import flink
    from components.config.flink import FLINK_OWN_KEYS

    from tests.harness import ROOT

    run = program()
    settings = yaml.safe_load((ROOT / "config" / "defaults.yaml").read_text())["flink"]["settings"]
    written = set()
    for name in (flink.JOBMANAGER, flink.TASKMANAGER):
        written |= set(properties(run.get(name, SERVICE))) - set(settings)
    assert written == set(FLINK_OWN_KEYS) | STATE_KEYS
    # by default the state is in the directory the jobmanager mounts, in checkpoint files it writes
    props = properties(run.get(flink.JOBMANAGER, SERVICE))
    assert props["state.checkpoint-storage"] == "jobmanager"
    for key in ("state.checkpoints.dir", "state.savepoints.dir"):
        assert props[key].startswith(f"file://{flink.STATE_MOUNT}/")
    # a stack may still put them elsewhere (its own filesystem, in its own image)
    props = properties(program(flink={"settings": {"state.savepoints.dir": "s3://mine/sp"}}).get("taskmanager", SERVICE))
    assert props["state.savepoints.dir"] == "s3://mine/sp" and props["state.checkpoint-storage"] == "jobmanager"


def test_durable_jobs_state_on_the_jobmanager_node_and_zookeeper_beside_it(program):
    from components import flinkstate as flink

    run = program()
    jm_ip = ip_of(run, "jobmanager")
    state = run.get("azure-flink-jobmanager-state")
    assert state.inputs["connection"]["host"] == jm_ip
    words = shlex.split(state.inputs["create"])
    assert words[5:] == ["flink-state", flink.STATE_DIR, "9999", flink.STATE_MOUNT, "2181"]
    assert "delete" not in state.inputs  # the jobs' state outlives the step
    mount = [{"type": "bind", "source": flink.STATE_DIR, "target": flink.STATE_MOUNT}]
    zk, jm, tm = (run.get(name, SERVICE) for name in ("zookeeper", "jobmanager", "taskmanager"))
    assert zk.inputs["mode"] == {"replicated": {"replicas": 1}}
    spec = zk.inputs["taskSpec"]
    assert spec["placement"]["constraints"] == ["node.labels.role == jobmanager"]  # beside its state
    assert spec["containerSpec"]["image"] == pinned(run, "flink:1.20.3-java17")  # Flink's own ZooKeeper server
    assert spec["containerSpec"]["args"] == ["/opt/flink/bin/flink-console.sh", "zookeeper", "--zkConfigFile",
                                             "/flink-state/zoo.cfg", "--peerId", "1"]
    assert spec["containerSpec"]["mounts"] == mount and jm.inputs["taskSpec"]["containerSpec"]["mounts"] == mount
    assert spec["networksAdvanceds"] == [{"id": "flink-net-id", "aliases": ["zookeeper"]}]
    assert zk.inputs["endpointSpec"] == {"mode": "dnsrr"}  # nothing published
    assert run.depends_on(zk, state) and run.depends_on(jm, state) and not run.depends_on(tm, state)
    for service in (jm, tm):
        props = properties(service)
        assert props["high-availability.type"] == "zookeeper"
        assert props["high-availability.zookeeper.quorum"] == "zookeeper:2181"
        assert props["high-availability.jobmanager.port"] == "6123"  # HA takes the RPC port from here
    assert properties(jm)["high-availability.storageDir"] == "file:///flink-state/ha"
    # a taskmanager creates the HA directory but only reads from it: one in its own container
    assert properties(tm)["high-availability.storageDir"] == "file:///tmp/flink-swarm-ha"


def test_zookeeper_is_created_before_the_jobmanager_and_removed_once_its_task_stopped(program):
    run = program()
    zk, jm, tm = (run.get(name, SERVICE) for name in ("zookeeper", "jobmanager", "taskmanager"))
    stopped = run.get("azure-flink-jobmanager-flink-stopped", CMD)
    manager = next(r for r in run.outputs["nodes"] if r["role"] == "manager")
    assert stopped.inputs["connection"]["host"] == manager["publicIp"]  # the control manager sees every task
    assert "create" not in stopped.inputs  # delete-only
    words = shlex.split(stopped.inputs["delete"])
    assert words[5:] == ["flink-stopped"] and "grep -c '^Remove$'" in words[4]  # tasks of removed services
    # destroy goes dependents first: the jobmanager, then the wait for its task, then ZooKeeper
    assert run.depends_on(jm, stopped) and run.depends_on(stopped, zk)
    assert not run.depends_on(tm, zk)  # taskmanagers start beside ZooKeeper, and wait for a leader


def test_python_off_builds_nothing_and_the_services_run_the_pinned_image(program):
    run = program()
    assert not [c for c in run.of_type(CMD) if c.name.endswith("-python")]
    for name in ("jobmanager", "taskmanager"):
        assert run.get(name, SERVICE).inputs["taskSpec"]["containerSpec"]["image"] == pinned(run, "flink:1.20.3-java17")


def test_python_builds_the_image_on_every_flink_node_and_the_services_run_it(program):
    from components import flink

    run = program(flink={"python": True})
    image = pinned(run, "flink:1.20.3-java17")
    tag = flink.python_image(image)
    assert re.fullmatch(r"localhost/flink-swarm-pyflink:[0-9a-f]{16}", tag)  # never a registry's name
    builds = {c.name.removesuffix("-python"): c for c in run.of_type(CMD) if c.name.endswith("-python")}
    flink_nodes = [r for r in run.outputs["nodes"] if r["role"] in ("jobmanager", "worker")]
    assert sorted(builds) == sorted(r["name"] for r in flink_nodes)  # not the managers: they run no Flink
    for row in flink_nodes:
        build = builds[row["name"]]
        assert build.inputs["connection"]["host"] == row["publicIp"]
        assert shlex.split(build.inputs["create"])[5:] == ["flink-python", image, tag]
        assert run.depends_on(build, run.get(f"{row['name']}-pull"))  # built from what the node pulled
    jm, tm, zk = (run.get(name, SERVICE) for name in ("jobmanager", "taskmanager", "zookeeper"))
    for service in (jm, tm):
        assert service.inputs["taskSpec"]["containerSpec"]["image"] == tag
        assert all(run.depends_on(service, build) for build in builds.values())  # on every node first
    assert zk.inputs["taskSpec"]["containerSpec"]["image"] == image  # ZooKeeper needs no Python
    assert not any(run.depends_on(zk, build) for build in builds.values())


def test_the_python_tag_names_the_image_and_the_script_that_builds_it(monkeypatch, tmp_path):
    from components import flink

    a, b = "flink:1.20.3-java17@sha256:" + "a" * 64, "flink:1.20.3-java17@sha256:" + "b" * 64
    before = flink.python_image(a)
    assert before == flink.python_image(a) != flink.python_image(b)
    edit_script(monkeypatch, tmp_path / "scripts", "flink-python.sh")
    assert flink.python_image(a) != before  # a new script builds a new image (and updates the services)


def test_turning_python_on_touches_only_the_flink_services(program):
    def inputs(run):
        return {(r.type, r.name): r.diffed_inputs for r in run.resources}

    before, after = inputs(program()), inputs(program(flink={"python": True}))
    added = after.keys() - before.keys()
    assert added == {(CMD, f"{n}-python") for n in ["azure-flink-jobmanager", "azure-swarm-worker-1",
                                                     "azure-swarm-worker-2", "google-cloud-worker-1"]}
    assert {key for key in before if before[key] != after[key]} == {
        (SERVICE, "jobmanager"), (SERVICE, "taskmanager"), (SERVICE, "sql-gateway"), *READINESS}


def test_up_returns_when_every_service_runs_and_flink_counts_every_taskmanager(program):
    run = program(flink={"taskSlots": 3})
    ready, serving = (run.get(f"azure-flink-jobmanager-{step}", CMD) for step in ("flink-ready", "flink-serving"))
    manager = next(r for r in run.outputs["nodes"] if r["role"] == "manager")
    assert ready.inputs["connection"]["host"] == manager["publicIp"]  # the manager sees every task
    assert serving.inputs["connection"]["host"] == ip_of(run, "jobmanager")  # Flink's port is open on its node only
    words = shlex.split(ready.inputs["create"])
    assert words[5] == "flink-ready" and words[6] == "600" and re.fullmatch(r"[0-9a-f]{16}", words[7])
    assert words[8:] == ["zookeeper=1", "jobmanager=1", "taskmanager=3", "sql-gateway=1"]  # the blog's three workers
    serving_words = shlex.split(serving.inputs["create"])
    # port, service, 3 taskmanagers with 3 slots each, the same revision, the SQL gateway's port
    assert serving_words[5:] == ["flink-serving", "600", "8081", "jobmanager", "3", "9", words[7], "8083"]
    for name in ("zookeeper", "jobmanager", "taskmanager", "sql-gateway"):
        assert run.depends_on(ready, run.get(name, SERVICE))
    assert run.depends_on(serving, ready)


def test_the_readiness_steps_run_again_exactly_when_a_service_or_the_workers_change(program):
    def revision(run):
        ready = run.get("azure-flink-jobmanager-flink-ready", CMD)
        return shlex.split(ready.inputs["create"])[7]

    first = revision(program())
    assert revision(program()) == first  # nothing changed: no step runs, nothing waits
    assert revision(program(flink={"settings": {"state.backend.type": "rocksdb"}})) != first
    assert revision(program(flink={"taskSlots": 4})) != first
