"""`cloud: local` under mocks: the nodes as containers of the program's own image on its own network."""
import hashlib
import ipaddress

import pytest
import yaml

from components import local
from components.config import ConfigError
from tests.cli import Project
from tests.harness import ROOT, is_secret

LOCAL = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())["config"]
NAMES = ["local-manager", "local-jobmanager", "local-worker-1", "local-worker-2"]
CONTAINER, NETWORK = "docker:index/container:Container", "docker:index/network:Network"
IMAGE = "docker:index/remoteImage:RemoteImage"


@pytest.fixture
def local_stack(program):
    """The program on Pulumi.local.yaml's config alone (no cloud settings), with overrides."""
    def run(**overrides):
        cleared = {key: None for key in ("azure-native:location", "gcp:project", "gcp:zone")}
        return program(stack="local", **{**LOCAL, **cleared, **overrides})
    return run


def test_the_local_topology_is_four_containers_on_the_programs_network(local_stack):
    run = local_stack()
    # no cloud (random: Grafana's admin password)
    assert {r.type.split(":")[0] for r in run.custom()} == {"docker", "command", "tls", "pulumi", "random"}
    containers = {r.inputs["hostname"]: r for r in run.of_type(CONTAINER)}
    assert sorted(containers) == sorted(NAMES)
    (network,) = [r for r in run.of_type(NETWORK) if r.name == "network"]
    assert network.inputs["driver"] == "bridge" and network.inputs["ipamConfigs"] == [
        {"subnet": "10.213.0.0/24", "gateway": "10.213.0.1"}]
    for k, name in enumerate(NAMES):
        c = containers[name].inputs
        assert c["name"] == f"local-{name}"
        assert c["networksAdvanced"] == [{"name": "local-nodes", "ipv4Address": f"10.213.0.{11 + k}"}]
        assert c["volumes"] == [{"containerPath": "/var/lib/docker"}]  # anonymous: removed with the container
        built = run.get("host-image", IMAGE).inputs["name"]
        assert c["image"] == "sha256:" + hashlib.sha256(built.encode()).hexdigest()  # the harness's fake id of it
    assert [row["publicIp"] for row in run.outputs["nodes"]] == [f"10.213.0.{11 + k}" for k in range(4)]


def test_only_ssh_flink_its_sql_gateway_and_monitoring_are_published_and_only_on_loopback(local_stack):
    run = local_stack()
    published = {r.inputs["hostname"]: r.inputs["ports"] for r in run.of_type(CONTAINER)}
    assert published == {
        "local-manager": [{"internal": 22, "external": 2222, "ip": "127.0.0.1"},  # the control manager:
                          {"internal": 3000, "external": 3000, "ip": "127.0.0.1"},  # Grafana and
                          {"internal": 9090, "external": 9090, "ip": "127.0.0.1"}],  # Prometheus
        "local-jobmanager": [{"internal": 22, "external": 2223, "ip": "127.0.0.1"},
                             {"internal": 8081, "external": 8081, "ip": "127.0.0.1"},
                             {"internal": 8083, "external": 8083, "ip": "127.0.0.1"}],
        "local-worker-1": [{"internal": 22, "external": 2224, "ip": "127.0.0.1"}],
        "local-worker-2": [{"internal": 22, "external": 2225, "ip": "127.0.0.1"}]}
    # the job CLI reaches Flink there directly, no SSH tunnel
    assert run.outputs["flinkRest"] == {"node": "local-jobmanager", "port": 8081, "url": "http://127.0.0.1:8081"}
    assert run.outputs["flinkUi"] == "http://127.0.0.1:8081"
    assert run.outputs["flinkSqlGateway"] == {"node": "local-jobmanager", "port": 8083, "url": "http://127.0.0.1:8083"}
    assert run.outputs["spark"] is None
    assert run.outputs["sshCommands"]["local-worker-2"].endswith("-p 2225 ubuntu@127.0.0.1")
    assert run.outputs["dockerHost"] == "ssh://ubuntu@127.0.0.1:2222"
    assert run.outputs["monitoring"] == {"prometheus": "http://127.0.0.1:9090", "grafana": "http://127.0.0.1:3000"}
    off = local_stack(monitoring={"enabled": False}, local={"prometheusPort": 19090},
                      flink={"sqlGateway": False}, spark={"enabled": True})
    internal = {r.inputs["hostname"]: [p["internal"] for p in r.inputs["ports"]] for r in off.of_type(CONTAINER)}
    assert internal["local-manager"] == [22] and internal["local-jobmanager"] == [22, 8080, 8081]
    assert off.outputs["flinkSqlGateway"] is None
    assert off.outputs["spark"] == {"node": "local-jobmanager", "service": "spark-master", "master": "spark://spark-master:7077",
                                    "uiPort": 8080, "url": "http://127.0.0.1:8080"}


def test_the_swarm_advertises_the_containers_own_addresses(local_stack):
    run = local_stack()
    init = run.get("swarm-init").inputs["create"]
    assert "10.213.0.11" in init and "127.0.0.1" not in init
    for k, name in enumerate(NAMES):
        join = run.get(f"{name}-join").inputs
        assert f"10.213.0.{11 + k}" in join["create"] and "127.0.0.1" not in join["create"]
        assert (join["connection"]["host"], join["connection"]["port"]) == ("127.0.0.1", 2222 + k)
    assert not [r.name for r in run.custom() if r.name.endswith("-firewall")]  # nothing beyond loopback


def test_keys_are_uploaded_before_the_start_and_the_host_key_stays_secret(local_stack):
    run = local_stack()
    for name in NAMES:
        container = run.get(f"{name}-node", CONTAINER)
        uploads = {u["file"]: u for u in container.inputs["uploads"]}
        assert sorted(uploads) == ["/etc/ssh/ssh_host_ed25519_key", "/home/ubuntu/.ssh/authorized_keys"]
        assert uploads["/home/ubuntu/.ssh/authorized_keys"]["content"].startswith("ssh-rsa ")
        assert is_secret(container.raw["uploads"])  # the SDK sends a list holding a secret as a secret
        key = f"ssh-ed25519 AAAAmocked25519{name}-host-key"  # the harness's fake public key of it
        assert run.get(f"{name}-docker").inputs["connection"]["hostKey"] == key  # every step checks it


def test_the_nodes_run_their_engine_with_the_capabilities_it_needs_not_privileged(local_stack):
    for container in local_stack().of_type(CONTAINER):
        c = container.inputs
        assert not c.get("privileged")
        assert c["capabilities"] == {"adds": ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"]}
        assert c["restart"] == "unless-stopped"


def test_every_local_resource_goes_to_the_configured_engine_and_carries_the_stack_label(local_stack):
    run = local_stack(local={"dockerHost": "unix:///run/user/1000/docker.sock"})
    (engine,) = [r for r in run.custom() if r.type == "pulumi:providers:docker" and r.name == "engine"]
    assert engine.inputs["host"] == "unix:///run/user/1000/docker.sock"
    made = run.of_type(CONTAINER) + [run.get("network", NETWORK), run.get("host-image", IMAGE)]
    assert all(r.provider.startswith(engine.urn) for r in made)
    for r in made[:-1]:
        assert {"label": local.LABEL, "value": "local"} in r.inputs["labels"], r.name


def test_the_image_is_built_from_the_repos_dockerfile_on_the_base_image(local_stack, tmp_path, monkeypatch):
    image = local_stack(local={"baseImage": "ubuntu:24.04"}).get("host-image", IMAGE).inputs
    assert image["build"]["context"] == "components/local-host"  # the same in every checkout
    assert image["build"]["buildArgs"] == {"BASE_IMAGE": "ubuntu:24.04", "SSH_USER": "ubuntu"}
    assert image["name"] == f"flink-swarm-node:{image['triggers']['context']}"
    # a changed file of the context is a new image (and so new containers: blank hosts)
    context = tmp_path / "context"
    context.mkdir()
    for path in local.CONTEXT.iterdir():
        (context / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(local, "CONTEXT", context)
    same = local.context_digest()
    (context / "sshd.conf").write_text("PasswordAuthentication no\n")
    assert same == image["triggers"]["context"] != local.context_digest()


def test_addresses_and_ports_follow_the_settings(local_stack):
    run = local_stack(local={"subnet": "192.168.77.0/26", "sshPort": 30022, "uiPort": 30081})
    assert [row["publicIp"] for row in run.outputs["nodes"]] == [f"192.168.77.{11 + k}" for k in range(4)]
    assert run.outputs["flinkUi"] == run.outputs["flinkRest"]["url"] == "http://127.0.0.1:30081"
    assert run.outputs["ssh"]["local-worker-1"] == {"host": "127.0.0.1", "port": 30024, "user": "ubuntu"}
    assert run.get("local-worker-1-join").inputs["connection"]["port"] == 30024


@pytest.mark.parametrize("local_settings, fieldname, words", [
    ({"subnet": "10.213.0.0/29"}, "flink-swarm:local.subnet", "holds 0 local nodes"),
    ({"subnet": "10.213.0.0"}, "flink-swarm:local.subnet", ""),
    ({"sshPort": 65534}, "flink-swarm:local.sshPort", "past 65535"),
    ({"uiPort": 2224}, "flink-swarm:local.uiPort", "2222-2225"),
    ({"dockerHost": "/var/run/docker.sock"}, "flink-swarm:local.dockerHost", "unix://"),
    ({"baseImage": "debian 12"}, "flink-swarm:local.baseImage", ""),
    ({"subnet": "172.30.1.0/24"}, "flink-swarm:network.subnet", "local.subnet"),
    ({"sshHost": "x"}, "flink-swarm:local", "sshHost"),
])
def test_bad_local_settings_fail_naming_the_field(local_stack, local_settings, fieldname, words):
    with pytest.raises(ConfigError) as err:
        local_stack(local=local_settings)
    assert fieldname in str(err.value) and words in str(err.value), str(err.value)


def test_local_nodes_do_not_mix_with_cloud_nodes(local_stack, tmp_path):
    nodes = yaml.safe_load((ROOT / "config/topologies/local.yaml").read_text())["nodes"]
    nodes.append({"name": "gcp-worker", "cloud": "gcp", "role": "worker"})
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    with pytest.raises(ConfigError) as err:
        local_stack(topology=str(path), **{"gcp:project": "p", "gcp:zone": "europe-west1-b"})
    assert "flink-swarm:topology" in str(err.value) and "gcp nodes cannot reach" in str(err.value)
    nodes[-1] = {"name": "big", "cloud": "local", "role": "worker", "size": "e2-medium"}
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    with pytest.raises(ConfigError, match="local nodes have no machine size"):
        local_stack(topology=str(path))


def test_the_network_holds_every_node_address_and_docker_keeps_the_gateway(local_stack):
    run = local_stack()
    subnet = ipaddress.ip_network("10.213.0.0/24")
    addresses = [ipaddress.ip_address(row["publicIp"]) for row in run.outputs["nodes"]]
    assert all(a in subnet and a != subnet[1] for a in addresses)


@pytest.fixture
def local_engine(tmp_path):
    """The local stack as "Try it locally" makes it (`pulumi stack init local`, `pulumi up`), through the
    real CLI with stand-ins that reach nothing; `up(**settings)` sets flink-swarm settings and runs again."""
    project = Project(tmp_path)
    project.pulumi("stack", "init", "local")  # reads Pulumi.local.yaml

    def up(**settings):
        project.set_config({f"flink-swarm:{k}": v for k, v in settings.items()})
        return project.run("up", "--skip-preview")

    up.project = project
    up()
    return up


def test_a_second_local_up_changes_nothing(local_engine):
    plan = local_engine()
    assert plan.changed() == {}


def test_a_new_base_image_makes_new_blank_nodes_whose_steps_run_again(local_engine):
    plan = local_engine(local={"baseImage": "ubuntu:24.04"})
    changed = plan.changed()
    assert changed["host-image"] == "replace"
    assert {changed[f"{name}-node"] for name in NAMES} == {"replace"}  # the image id is new
    assert {changed[f"{name}-join"] for name in NAMES} == {"replace"}  # a new container is a blank host
    assert "network" not in changed


def test_a_local_destroy_removes_everything(local_engine):
    local_engine.project.run("destroy")
    assert local_engine.project.resources() == {}
