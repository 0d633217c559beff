"""Config validation: every bad input is refused with the field, the value and the fix."""
from pathlib import Path

import pulumi
import pytest
import yaml

from components import config
from components.config import ConfigError
from components.config.types import SshSpec

PROVIDERS = {"azure-native:location": "westeurope", "gcp:project": "p", "gcp:zone": "europe-west1-b",
             "gcp:region": None}

BLOG = [
    {"name": "azure-swarm-manager", "cloud": "azure", "role": "manager"},
    {"name": "azure-flink-jobmanager", "cloud": "azure", "role": "jobmanager"},
    {"name": "azure-swarm-worker", "cloud": "azure", "role": "worker", "count": 2},
    {"name": "google-cloud-worker", "cloud": "gcp", "role": "worker", "count": 1},
]


@pytest.fixture
def parse(tmp_path):
    """parse(nodes=..., **config) -> Settings, with the topology written to a temp file."""

    def run(nodes=None, providers=PROVIDERS, **cfg):
        if nodes is not None:
            path = tmp_path / "topology.yaml"
            path.write_text(yaml.safe_dump({"nodes": nodes}))
            cfg.setdefault("topology", str(path))
        cfg.setdefault("adminCidrs", ["203.0.113.7/32"])
        return config.parse(cfg, providers, "dev")

    return run


def refused(parse, field, value, **kwargs):
    with pytest.raises(ConfigError) as err:
        parse(**kwargs)
    message = str(err.value)
    assert field in message, message
    assert repr(value) in message or str(value) in message, message
    assert "Fix:" in message, message
    return message


def with_node(**changes):
    return [dict(BLOG[0], **changes)] + BLOG[1:]


PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGi+qM0YoSwchZLbxBk02bA2h4RWsGTMfQED7RfkooWV alice@laptop"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
OWN_KEY = {"sshPublicKey": PUBLIC_KEY, "sshPrivateKey": PRIVATE_KEY}
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILEVAxhBK0IIpcdvPntgpGr+cXDxLljFrOvemiWpMB70"


GCP_ONLY = [dict(n, cloud="gcp") for n in BLOG]


def static(name="on-prem", role="worker", ip="192.0.2.10", **fields):
    return {"name": name, "cloud": "static", "role": role, "publicIp": ip, "hostKey": HOST_KEY, **fields}


def test_blog_topology_expands_counts(parse):
    settings = parse()
    assert [n.name for n in settings.nodes] == [
        "azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", "azure-swarm-worker-2",
        "google-cloud-worker-1"]
    assert [n.role for n in settings.nodes] == ["manager", "jobmanager", "worker", "worker", "worker"]
    assert settings.network.driver == "weave" and settings.network.subnet == "172.30.0.0/16"
    assert settings.gcp.region == "europe-west1"
    assert settings.name_prefix == "dev"


def test_no_manager(parse):
    nodes = [n for n in BLOG if n["role"] != "manager"]
    refused(parse, "flink-swarm:topology", "no node has role manager", nodes=nodes)


def test_no_jobmanager(parse):
    nodes = [n for n in BLOG if n["role"] != "jobmanager"]
    refused(parse, "flink-swarm:topology", "exactly one node must have role jobmanager", nodes=nodes)


def test_two_jobmanagers(parse):
    nodes = BLOG + [{"name": "second-jm", "cloud": "azure", "role": "jobmanager"}]
    refused(parse, "flink-swarm:topology", "second-jm", nodes=nodes)


def test_no_worker(parse):
    refused(parse, "flink-swarm:topology", "no node has role worker", nodes=BLOG[:2])


@pytest.mark.parametrize("managers", [2, 4])
def test_even_number_of_managers_is_a_warning(parse, managers):
    """Useless for fault tolerance, but a step between 1, 3 and 5 managers: warned, not refused."""
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": managers}] + BLOG[1:]
    (warning,) = parse(nodes=nodes).warnings
    assert f"{managers} managers" in warning and "fault tolerance" in warning


def test_the_control_manager_is_the_first_manager_or_the_one_named(parse):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": 3}] + BLOG[1:]
    assert parse(nodes=nodes).control_manager == "mgr-1"
    assert parse(nodes=nodes, controlManager="mgr-2").control_manager == "mgr-2"
    refused(parse, "flink-swarm:controlManager", "azure-flink-jobmanager", nodes=nodes,
            controlManager="azure-flink-jobmanager")


def test_three_managers_are_fine(parse):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": 3}] + BLOG[1:]
    assert len(parse(nodes=nodes).of_role("manager")) == 3


def test_duplicate_names(parse):
    refused(parse, "azure-swarm-worker-1", "duplicate node name",
            nodes=BLOG + [{"name": "azure-swarm-worker-1", "cloud": "gcp", "role": "worker"}])


def test_unknown_cloud(parse):
    refused(parse, "node 'azure-swarm-manager'.cloud", "aws", nodes=with_node(cloud="aws"))


def test_unknown_role(parse):
    refused(parse, "node 'azure-swarm-manager'.role", "master", nodes=with_node(role="master"))


@pytest.mark.parametrize("name", ["Azure-Manager", "node_1", "1node", "ends-", "x" * 41, ""])
def test_bad_names(parse, name):
    refused(parse, ".name", name, nodes=with_node(name=name))


def test_count_suffix_must_keep_names_short(parse):
    refused(parse, ".name", "w" * 39 + "-1", nodes=BLOG + [{"name": "w" * 39, "cloud": "gcp",
                                                             "role": "worker", "count": 10}])


@pytest.mark.parametrize("count", [-1, 1.5, "2", True])
def test_bad_counts(parse, count):
    refused(parse, ".count", count, nodes=BLOG[:2] + [dict(BLOG[2], count=count)])


def test_zero_count_keeps_other_groups(parse):
    nodes = BLOG[:2] + [dict(BLOG[2], count=0), BLOG[3]]
    assert [n.name for n in parse(nodes=nodes).of_role("worker")] == ["google-cloud-worker-1"]


def test_static_node_without_public_ip(parse):
    node = static()
    del node["publicIp"]
    refused(parse, "node 'on-prem'.publicIp", "None", nodes=BLOG + [node], **OWN_KEY)


def test_static_node_with_bad_ip(parse):
    refused(parse, "node 'on-prem'.publicIp", "10.0.0.300", nodes=BLOG + [static(ip="10.0.0.300")], **OWN_KEY)


def test_static_nodes_need_own_key(parse):
    message = refused(parse, "flink-swarm:sshPublicKey", "None", nodes=BLOG + [static()])
    assert "ssh-add" in message  # or the deployer's ssh-agent holds it


def test_static_node_settings(parse):
    nodes = BLOG + [static(user="admin", port=2222)]
    node = parse(nodes=nodes, **OWN_KEY).nodes[-1]
    assert (node.public_ip, node.private_ip, node.user, node.port) == ("192.0.2.10", "192.0.2.10", "admin", 2222)
    assert (node.host_key, node.firewall) == (HOST_KEY, True)


def test_cloud_node_cannot_take_public_ip(parse):
    refused(parse, "node 'azure-swarm-manager'.publicIp", "192.0.2.1", nodes=with_node(publicIp="192.0.2.1"))


def test_unknown_node_key(parse):
    refused(parse, "nodes[0].replicas", "3", nodes=with_node(replicas=3))


def test_label_reserved_by_program(parse):
    refused(parse, "labels.role", "gpu", nodes=with_node(labels={"role": "gpu"}))


def test_missing_topology_file(parse, tmp_path):
    missing = tmp_path / "nope.yaml"
    message = refused(parse, "flink-swarm:topology", str(missing), topology=str(missing))
    assert "cannot read" in message


def test_malformed_topology_yaml(parse, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - name: a\n    cloud: [azure\n")
    message = refused(parse, "flink-swarm:topology", str(bad), topology=str(bad))
    assert "not valid YAML" in message and "line" in message


def test_topology_without_nodes_list(parse, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("servers: []\n")
    refused(parse, "flink-swarm:topology", "servers", topology=str(empty))


@pytest.mark.parametrize("cidrs", [None, [], "203.0.113.7/32"])
def test_admin_cidrs_missing(parse, cidrs):
    refused(parse, "flink-swarm:adminCidrs", cidrs, adminCidrs=cidrs)


@pytest.mark.parametrize("cidr", ["banana", "10.0.0.1/24", "2001:db8::/32", "300.1.1.1/32"])
def test_admin_cidrs_invalid_entry(parse, cidr):
    refused(parse, "flink-swarm:adminCidrs[1]", cidr, adminCidrs=["203.0.113.7/32", cidr])


def test_unknown_network_driver(parse):
    refused(parse, "flink-swarm:network.driver", "calico", network={"driver": "calico"})


def test_bad_network_subnet(parse):
    refused(parse, "flink-swarm:network.subnet", "172.30.0.0/33", network={"subnet": "172.30.0.0/33"})


def test_unknown_network_key(parse):
    refused(parse, "flink-swarm:network.encrypt", "False", network={"driver": "overlay", "encrypt": False})


def test_private_key_without_its_public_key(parse):
    message = refused(parse, "flink-swarm:sshPublicKey", "None", sshPrivateKey=PRIVATE_KEY)
    assert "b3BlbnNz" not in message


def test_azure_nodes_need_a_location(parse):
    refused(parse, "azure-native:location", "None", providers=dict(PROVIDERS, **{"azure-native:location": None}))


def test_gcp_nodes_need_a_project(parse):
    refused(parse, "gcp:project", "None", providers=dict(PROVIDERS, **{"gcp:project": None}))


def test_gcp_zone_outside_region(parse):
    refused(parse, "gcp:zone", "europe-west1-b", providers=dict(PROVIDERS, **{"gcp:region": "us-east1"}))


def test_static_only_topology_needs_no_cloud_config(parse):
    nodes = [static(n, r, f"192.0.2.{i}") for i, (n, r) in enumerate([("m", "manager"), ("j", "jobmanager"),
                                                                        ("w", "worker")], 1)]
    settings = parse(nodes=nodes, providers={}, **OWN_KEY)
    assert [n.cloud for n in settings.nodes] == ["static"] * 3


@pytest.mark.parametrize("key,value", [("taskSlots", 0), ("taskmanagerMemory", "lots"), ("image", "")])
def test_bad_flink_settings(parse, key, value):
    refused(parse, f"flink-swarm:flink.{key}", value, flink={key: value})


def test_flink_settings_are_the_defaults_with_the_stacks_keys_over_them(parse):
    settings = parse(flink={"settings": {"restart-strategy.type": None, "execution.checkpointing.interval": "1min",
                                         "execution.checkpointing.unaligned": True, "taskmanager.network.memory.fraction":
                                         0.2}}).flink.settings
    assert "restart-strategy.type" not in settings  # null drops a default
    assert settings["execution.checkpointing.interval"] == "1min"
    assert settings["execution.checkpointing.unaligned"] == "true"  # as Flink writes booleans
    assert settings["taskmanager.network.memory.fraction"] == "0.2"
    # the other defaults stay
    assert settings["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert list(settings) == sorted(settings)  # a stable order: no service update from reordering


@pytest.mark.parametrize("settings,field,value", [
    ("rocksdb", "flink-swarm:flink.settings", "rocksdb"),
    ({"state backend": "rocksdb"}, "flink-swarm:flink.settings", "state backend"),
    ({"a.b\nrest.port": "1"}, "flink-swarm:flink.settings", "a.b\nrest.port"),
    ({"state.backend": {"type": "rocksdb"}}, "flink-swarm:flink.settings.state.backend", "type"),
    ({"pipeline.jars": ["a.jar"]}, "flink-swarm:flink.settings.pipeline.jars", "a.jar"),
    ({"env.java.opts.all": "-Xss2m -verbose:gc"}, "flink-swarm:flink.settings.env.java.opts.all", "-Xss2m"),
    ({"state.savepoints.dir": "s3://b/$USER"}, "flink-swarm:flink.settings.state.savepoints.dir", "$USER"),
    ({"pipeline.name": "a\nrest.port: 1"}, "flink-swarm:flink.settings.pipeline.name", "rest.port"),
    ({"state.checkpoints.dir": "file:///data/*"}, "flink-swarm:flink.settings.state.checkpoints.dir", "*"),
    ({"pipeline.name": ""}, "flink-swarm:flink.settings.pipeline.name", ""),
])
def test_bad_flink_settings_name_the_key_and_the_fix(parse, settings, field, value):
    """A key and one scalar value a line: the image's entrypoint deletes whitespace, expands `$` and globs."""
    refused(parse, field, value, flink={"settings": settings})


@pytest.mark.parametrize("key", ["rest.port", "taskmanager.numberOfTaskSlots", "high-availability.type",
                                 "high-availability.storageDir", "parallelism.default"])
def test_flink_settings_the_program_writes_itself_are_refused_with_what_to_set(parse, key):
    message = refused(parse, f"flink-swarm:flink.settings.{key}", "1", flink={"settings": {key: "1"}})
    assert "flink-swarm:flink." in message or "leave it" in message or "leave them" in message


def test_bad_docker_install(parse):
    refused(parse, "flink-swarm:dockerInstall", "snap", dockerInstall="snap")


def test_bad_name_prefix(parse):
    refused(parse, "flink-swarm:namePrefix", "Dev_Alice", namePrefix="Dev_Alice")


@pytest.mark.parametrize("overrides", [{"adminCidrs": None}, {"network": {"driver": "calico"}},
                                       {"topology": "config/topologies/missing.yaml"},
                                       {"adminCidrs": ["0.0.0.0/0"]}, {"flink": {"image": "--help"}}])
def test_program_refuses_bad_config_before_registering_anything(program, overrides):
    with pytest.raises(ConfigError) as err:
        program(**overrides)
    assert err.value.registered == []
    assert program().resources  # the same runtime with good config does register resources


def test_ssh_dial_bounds_are_configurable(parse):
    assert parse(ssh={"dialAttempts": 3}).ssh == SshSpec(dial_attempts=3, dial_timeout=10)
    refused(parse, "flink-swarm:ssh.dialTimeoutSeconds", 0, ssh={"dialTimeoutSeconds": 0})
    refused(parse, "flink-swarm:ssh.retries", 5, ssh={"retries": 5})


@pytest.mark.parametrize("labels", [{"disk": "fast ssd"}, {"zone": "a,b"}, {"bad key": "x"}])
def test_bad_labels(parse, labels):
    key = next(iter(labels))
    refused(parse, f"labels.{key}", labels[key], nodes=with_node(labels=labels))


def test_more_nodes_than_the_subnet_holds(parse, monkeypatch):
    monkeypatch.setattr(config, "read_yaml", lambda path, field, real=config.read_yaml: (
        dict(real(path, field), gcp=dict(real(path, field)["gcp"], subnet="10.20.0.0/29"))
        if path == config.DEFAULTS_FILE else real(path, field)))
    nodes = BLOG[:3] + [dict(BLOG[3], count=5)]
    refused(parse, "flink-swarm:topology", 5, nodes=nodes)
    assert len(parse(nodes=BLOG[:3] + [dict(BLOG[3], count=4)]).of_cloud("gcp")) == 4  # 8 - 4 reserved


def test_azure_nsg_source_limit(parse):
    nodes = BLOG[:2] + [dict(BLOG[2], count=498)]
    message = refused(parse, "flink-swarm:topology", 500, nodes=nodes)
    assert "4000" in message
    assert len(parse(nodes=BLOG[:2] + [dict(BLOG[2], count=400)]).nodes) == 402


def test_nsg_limit_counts_the_admin_cidrs(parse):
    """6 cluster rules x (640 nodes + 2 subnets) fit in 4000; with 100 adminCidrs on 2 admin rules they do not."""
    nodes = BLOG[:2] + [dict(BLOG[2], count=637)] + BLOG[3:]
    plain = {"driver": "overlay", "encrypted": False}
    assert len(parse(nodes=nodes, network=plain).nodes) == 640
    many = [f"198.51.{i // 256}.{i % 256}/32" for i in range(100)]
    message = refused(parse, "flink-swarm:topology", 640, nodes=nodes, network=plain, adminCidrs=many)
    assert "at most 631 nodes" in message  # (4000 - 2 x 100) // 6 - 2


@pytest.mark.parametrize("user", ["admin", "administrator", "root", "test1"])
def test_azure_refuses_reserved_admin_names(parse, user):
    refused(parse, "flink-swarm:sshUser", user, sshUser=user)
    gcp_only = [{"name": "m", "cloud": "gcp", "role": "manager"}, {"name": "j", "cloud": "gcp", "role": "jobmanager"},
                {"name": "w", "cloud": "gcp", "role": "worker"}]
    assert parse(nodes=gcp_only, sshUser=user).ssh_user == user  # only Azure refuses them


def test_azure_public_ip_quota_is_a_warning(parse):
    assert parse().warnings == ()
    settings = parse(nodes=BLOG[:2] + [dict(BLOG[2], count=9)] + BLOG[3:])
    assert len(settings.warnings) == 1 and "11 Azure nodes" in settings.warnings[0]
    assert "default quota is 10 per region" in settings.warnings[0]


def test_docker_version_is_exact_and_for_docker_ce_only(parse):
    assert (parse().docker_install, parse().docker_version) == ("docker-ce", "28.5.2")
    assert parse(dockerVersion="29.1.3").docker_version == "29.1.3"
    assert parse(dockerInstall="docker.io").docker_version == ""
    refused(parse, "flink-swarm:dockerVersion", "latest", dockerVersion="latest")
    refused(parse, "flink-swarm:dockerVersion", "28.5.2", dockerInstall="docker.io", dockerVersion="28.5.2")


def test_network_mtu_and_the_weave_mtu_that_follows_it(parse):
    assert (parse().network.mtu, parse().network.weave_mtu) == (1460, 1376)  # GCP's 1460 less Weave's 84
    assert parse(network={"mtu": 1500}).network.weave_mtu == 1416
    refused(parse, "flink-swarm:network.mtu", 10**10, network={"mtu": 10**10})
    refused(parse, "flink-swarm:network.mtu", 576, network={"mtu": 576})
    refused(parse, "flink-swarm:network.weaveMtu", 1400, network={"weaveMtu": 1400})
    assert parse(network={"weaveMtu": 1300}).network.weave_mtu == 1300


# The error itself ----------------------------------------------------------------------------------

def test_config_error_is_a_pulumi_run_error():
    """`pulumi up` prints a RunError's message alone, not a Python traceback."""
    assert issubclass(ConfigError, pulumi.RunError) and issubclass(ConfigError, ValueError)


def test_a_long_value_is_shortened(parse):
    message = refused(parse, ".name", "x" * 20, nodes=with_node(name="x" * 5000))
    assert len(message) < 600


# YAML files: read strictly -------------------------------------------------------------------------

def write(tmp_path, content, name="t.yaml"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def laughs(levels):
    """The "billion laughs": each level 9 aliases of the one before (9 levels: 9^9 strings from 342 bytes)."""
    names = "abcdefghi"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]" for p, n in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def test_yaml_alias_bomb_is_refused_when_read(tmp_path):
    bomb = laughs(9)
    assert len(bomb) < 400
    with pytest.raises(ConfigError) as err:
        config.read_yaml(Path(write(tmp_path, bomb)), "flink-swarm:topology")
    assert "aliases" in str(err.value) and "Fix:" in str(err.value)


def test_yaml_anchors_and_aliases_in_the_topology_are_refused(parse, tmp_path):
    bomb = laughs(4) + "nodes: [*d, *d]\n"
    path = write(tmp_path, bomb)
    message = refused(parse, "flink-swarm:topology", path, topology=path)
    assert "anchors (&name) and aliases (*name) are not accepted" in message and "line 1" in message
    assert len(message) < 1000


def test_duplicate_yaml_keys_are_refused(parse, tmp_path):
    path = write(tmp_path, yaml.safe_dump({"nodes": BLOG}, sort_keys=False).replace(
        "role: manager\n", "role: manager\n  role: worker\n", 1))
    message = refused(parse, "flink-swarm:topology", path, topology=path)
    assert "duplicate key 'role'" in message and "line 5" in message


def test_defaults_yaml_is_read_as_strictly(parse, tmp_path, monkeypatch):
    defaults = config.DEFAULTS_FILE.read_text()
    monkeypatch.setattr(config, "DEFAULTS_FILE", Path(write(tmp_path, defaults + "sshUser: root\n", "d.yaml")))
    assert "duplicate key 'sshUser'" in refused(parse, "d.yaml", "d.yaml")


def test_non_utf8_topology(parse, tmp_path):
    path = write(tmp_path, b"nodes:\n  - name: caf\xe9\n")
    assert "not UTF-8" in refused(parse, "flink-swarm:topology", path, topology=path)


def test_deeply_nested_topology(parse, tmp_path):
    path = write(tmp_path, "nodes: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in refused(parse, "flink-swarm:topology", path, topology=path)


# Topology entries ---------------------------------------------------------------------------------

def test_count_is_bounded_before_expanding(parse):
    for count in (5001, 10**8):  # 5001 first: before the bound, 10**8 took minutes and gigabytes
        nodes = BLOG[:3] + [dict(BLOG[3], count=count)]
        message = refused(parse, "node 'google-cloud-worker'.count", count, nodes=nodes)
        assert "5000" in message
    assert len(parse(nodes=GCP_ONLY[:3] + [dict(BLOG[3], count=4000)]).of_cloud("gcp")) == 4004  # no NSG limit


def test_keys_that_are_not_text(parse):
    entry = {**BLOG[0], 1: "x", "replicas": 3}  # mixed with an unknown text key: no TypeError
    assert "not text" in refused(parse, "nodes[0]", 1, nodes=[entry] + BLOG[1:])
    assert "not text" in refused(parse, ".labels", 1, nodes=with_node(labels={1: "x", "disk": "ssd"}))


@pytest.mark.parametrize("labels", [{"disk": None}, {"disk": True}, {"tier": 1.5}, {"disk": ["ssd"]}])
def test_label_values_are_text(parse, labels):
    key = next(iter(labels))
    refused(parse, f"labels.{key}", labels[key], nodes=with_node(labels=labels))


def test_whole_number_label_values_are_text(parse):
    assert parse(nodes=with_node(labels={"rack": 7})).nodes[0].labels == {"rack": "7"}


@pytest.mark.parametrize("field,kwargs", [
    ("node 'azure-swarm-manager'.cloud", {"nodes": with_node(cloud="azure\n")}),
    (".name", {"nodes": with_node(name="mgr\n")}),
    ("labels.disk", {"nodes": with_node(labels={"disk": "ssd\n"})}),
    ("flink-swarm:sshUser", {"sshUser": "ubuntu\n"}),
    ("flink-swarm:namePrefix", {"namePrefix": "dev\n"}),
    ("flink-swarm:flink.taskmanagerMemory", {"flink": {"taskmanagerMemory": "4096m\n"}}),
    ("flink-swarm:dockerVersion", {"dockerVersion": "28.5.2\n"}),
    ("flink-swarm:flink.image", {"flink": {"image": "flink:1.20.3-java17\n"}}),
    ("node 'on-prem'.user", {"nodes": BLOG + [static(user="admin\n")], **OWN_KEY}),
])
def test_a_trailing_newline_is_refused_everywhere(parse, field, kwargs):
    message = refused(parse, field, "\\n'", **kwargs)  # the value's repr ends in \n'
    assert "Fix:" in message


@pytest.mark.parametrize("user", ["$(reboot)", "-oProxyCommand=x", "Admin", "a b", "", 7, "u" * 33])
def test_static_node_user_is_a_linux_user_name(parse, user):
    refused(parse, "node 'on-prem'.user", user, nodes=BLOG + [static(user=user)], **OWN_KEY)


def test_static_nodes_have_their_own_public_ips(parse):
    nodes = BLOG + [static(), static("on-prem-2")]
    message = refused(parse, "node 'on-prem-2'.publicIp", "192.0.2.10", nodes=nodes, **OWN_KEY)
    assert "'on-prem' has the same address" in message


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "224.0.0.1", "169.254.10.1", "255.255.255.255",
                                     "240.0.0.1"])
@pytest.mark.parametrize("key", ["publicIp", "privateIp"])
def test_static_addresses_are_host_addresses(parse, key, address):
    refused(parse, f"node 'on-prem'.{key}", address, nodes=BLOG + [static(**{key: address})], **OWN_KEY)


# hostKey and firewall (static nodes) ----------------------------------------------------------------

def test_static_nodes_need_their_host_key(parse):
    node = static(port=2222)
    del node["hostKey"]
    message = refused(parse, "node 'on-prem'.hostKey", None, nodes=BLOG + [node], **OWN_KEY)
    assert "ssh-keyscan -t ed25519 -p 2222 192.0.2.10" in message
    assert "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in message


@pytest.mark.parametrize("given", [HOST_KEY, f"{HOST_KEY} root@lab", f"192.0.2.10 {HOST_KEY}",
                                   f"[192.0.2.10]:2222 {HOST_KEY}\n", f"  {HOST_KEY}\t"])
def test_host_key_is_kept_as_type_and_key(parse, given):
    assert parse(nodes=BLOG + [static(hostKey=given)], **OWN_KEY).nodes[-1].host_key == HOST_KEY


@pytest.mark.parametrize("given,shown", [
    (PRIVATE_KEY, "a private key"), ("ssh-ed25519", "11 characters"), (42, "a value of type int"),
    ("ssh-dss AAAAB3NzaC1kc3M= root@lab", "a key of type 'ssh-dss'"), (f"{HOST_KEY}\n{HOST_KEY}", "2 lines"),
])
def test_bad_host_keys(parse, given, shown):
    with pytest.raises(ConfigError) as err:
        parse(nodes=BLOG + [static(hostKey=given)], **OWN_KEY)
    message = str(err.value)
    assert "node 'on-prem'.hostKey" in message and f"(got {shown}" in message and "Fix:" in message
    assert "b3BlbnNz" not in message


def test_firewall_is_on_unless_the_owner_manages_it(parse):
    assert parse(nodes=BLOG + [static(firewall=False)], **OWN_KEY).nodes[-1].firewall is False
    refused(parse, "node 'on-prem'.firewall", "no", nodes=BLOG + [static(firewall="no")], **OWN_KEY)


@pytest.mark.parametrize("key,value", [("hostKey", HOST_KEY), ("firewall", False)])
def test_cloud_nodes_take_no_host_key_nor_firewall(parse, key, value):
    refused(parse, f"node 'azure-swarm-manager'.{key}", str(value)[:20], nodes=with_node(**{key: value}))


# Images, memory, subnets ---------------------------------------------------------------------------

BAD_IMAGES = ["--help", "-flink", "flink:1.20 --privileged", "flink;reboot", "Flink", "flink:", "flink@sha256:abc",
              "flink:-x", "$(reboot)", "", 5, "a" * 256]
GOOD_IMAGES = ["flink:1.20.3-java17", "ghcr.io/apache/flink:1.20", "localhost:5000/flink",
               "10.77.0.2:5000/flink:1.20.3-java17", "flink@sha256:" + "a" * 64, "rajchaudhuri/net-plugin:2.8.1",
               "weaveworks/net-plugin:latest_release", "registry.example.com/team/flink__x:v1@sha256:" + "0" * 64]


@pytest.mark.parametrize("value", BAD_IMAGES)
def test_images_are_docker_references(parse, value):
    shown = value[:20] if isinstance(value, str) else value  # a long value is shortened
    refused(parse, "flink-swarm:flink.image", shown, flink={"image": value})
    refused(parse, "flink-swarm:network.weavePlugin", shown, network={"weavePlugin": value})


@pytest.mark.parametrize("value", GOOD_IMAGES)
def test_docker_references_are_accepted(parse, value):
    settings = parse(flink={"image": value}, network={"weavePlugin": value})
    assert settings.flink.image == settings.network.weave_plugin == value


@pytest.mark.parametrize("memory", ["0m", "0g", "000mb"])
def test_memory_above_zero(parse, memory):
    refused(parse, "flink-swarm:flink.jobmanagerMemory", memory, flink={"jobmanagerMemory": memory})


@pytest.mark.parametrize("subnet,nodes,overlaps", [
    ("10.0.0.0/8", BLOG, "azure.addressSpace"), ("10.10.8.0/24", BLOG, "azure.addressSpace"),
    ("10.20.0.0/16", BLOG, "gcp.subnet"), ("172.31.0.0/16", GCP_ONLY + [static(privateIp="172.31.0.9")], "privateIp"),
    ("192.0.2.0/24", GCP_ONLY + [static()], "publicIp"),
])
def test_container_subnet_overlapping_a_node_network(parse, subnet, nodes, overlaps):
    message = refused(parse, "flink-swarm:network.subnet", subnet, network={"subnet": subnet}, nodes=nodes, **OWN_KEY)
    assert overlaps in message


def test_container_subnet_may_use_a_cloud_range_the_topology_has_no_node_on(parse):
    assert parse(nodes=GCP_ONLY, network={"subnet": "10.10.0.0/16"}).network.subnet == "10.10.0.0/16"


@pytest.mark.parametrize("subnet", ["0.0.0.0/0", "64.0.0.0/2", "172.0.0.0/7"])
def test_world_sized_container_subnet(parse, subnet):
    refused(parse, "flink-swarm:network.subnet", subnet, network={"subnet": subnet})


# Key pair modes -----------------------------------------------------------------------------------

def test_key_pair_modes(parse):
    generated, given, agent = parse(), parse(**OWN_KEY), parse(sshPublicKey=PUBLIC_KEY + "\n")
    assert (generated.ssh_public_key, generated.ssh_private_key, generated.ssh_agent) == (None, None, False)
    assert (given.ssh_public_key, given.ssh_private_key, given.ssh_agent) == (PUBLIC_KEY, PRIVATE_KEY, False)
    assert (agent.ssh_public_key, agent.ssh_private_key, agent.ssh_agent) == (PUBLIC_KEY, None, True)


def test_static_nodes_with_the_ssh_agent(parse):
    settings = parse(nodes=BLOG + [static()], sshPublicKey=PUBLIC_KEY)
    assert settings.ssh_agent and settings.nodes[-1].host_key == HOST_KEY


def test_a_secret_private_key_is_not_read(parse):
    secret = object()  # a secret Output in a real run
    assert parse(sshPublicKey=PUBLIC_KEY, sshPrivateKey=secret).ssh_private_key is secret


def test_swapped_keys_are_refused_without_printing_the_private_key(parse):
    with pytest.raises(ConfigError) as err:
        parse(sshPublicKey=PRIVATE_KEY, sshPrivateKey=PUBLIC_KEY)
    message = str(err.value)
    assert message.startswith("flink-swarm:sshPublicKey:") and "(got a private key)" in message
    assert "b3BlbnNz" not in message and "Fix:" in message


@pytest.mark.parametrize("private,shown", [("hunter2hunter2", "14 characters that are not a key"),
                                           (PUBLIC_KEY, "a public key"),
                                           (PRIVATE_KEY.replace("END", "FIN"), "a private key")])
def test_private_key_is_a_private_key_block(parse, private, shown):
    with pytest.raises(ConfigError) as err:
        parse(sshPublicKey=PUBLIC_KEY, sshPrivateKey=private)
    message = str(err.value)
    assert message.startswith("flink-swarm:sshPrivateKey:") and f"(got {shown})" in message
    assert "hunter2" not in message and "b3BlbnNz" not in message


@pytest.mark.parametrize("public,shown", [("ssh-ed25519 AAAA!!", "a key of type 'ssh-ed25519'"),
                                          (f"{PUBLIC_KEY}\n{PUBLIC_KEY}", "2 lines"), (7, "a value of type int"),
                                          ("hunter2", "7 characters")])
def test_public_key_is_one_openssh_line(parse, public, shown):
    with pytest.raises(ConfigError) as err:
        parse(sshPublicKey=public, sshPrivateKey=PRIVATE_KEY)
    message = str(err.value)
    assert message.startswith("flink-swarm:sshPublicKey:") and f"(got {shown}" in message
    assert "hunter2" not in message


# adminCidrs open to the world ---------------------------------------------------------------------

@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["11.0.0.0/8"],
                                   [f"{i}.0.0.0/8" for i in range(20, 22)], [f"44.{i}.0.0/16" for i in range(256)]])
def test_world_open_admin_cidrs_need_the_opt_in(parse, cidrs):
    message = refused(parse, "flink-swarm:adminCidrs", cidrs[0], adminCidrs=cidrs)
    assert "flink-swarm:worldOpenAdmin true" in message
    settings = parse(adminCidrs=cidrs, worldOpenAdmin=True)
    assert settings.world_open_admin and settings.admin_cidrs[0] == cidrs[0]


@pytest.mark.parametrize("cidrs", [["10.0.0.0/8"], ["203.0.113.0/24", "198.51.100.0/24"], ["100.64.0.0/10"],
                                   ["12.0.0.0/9"], ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]])
def test_admin_cidrs_short_of_the_world_need_no_opt_in(parse, cidrs):
    assert parse(adminCidrs=cidrs).world_open_admin is False


def test_world_open_admin_is_a_boolean(parse):
    refused(parse, "flink-swarm:worldOpenAdmin", "yes", worldOpenAdmin="yes")


def test_flink_python_is_a_boolean_off_by_default(parse):
    assert parse().flink.python is False and parse(flink={"python": True}).flink.python is True
    refused(parse, "flink-swarm:flink.python", "yes", flink={"python": "yes"})


@pytest.mark.parametrize("state, cloud, missing", [("gcs", "azure", "gcp:project"),
                                                   ("azure", "gcp", "azure-native:location")])
def test_a_state_bucket_needs_its_clouds_settings_even_without_nodes_there(parse, state, cloud, missing):
    nodes = [{"name": role, "cloud": cloud, "role": role} for role in ("manager", "jobmanager", "worker")]
    providers = {k: v for k, v in PROVIDERS.items() if not k.startswith(missing.split(":")[0])}
    with pytest.raises(ConfigError) as err:
        parse(nodes=nodes, providers=providers, flink={"state": state})
    assert "flink-swarm:flink.state" in str(err.value) and missing in str(err.value), str(err.value)
    refused(parse, "flink-swarm:flink.state", "s3", flink={"state": "s3"})


def test_a_gcs_bucket_takes_the_zones_region_without_gcp_nodes(parse):
    nodes = [{"name": role, "cloud": "azure", "role": role} for role in ("manager", "jobmanager", "worker")]
    settings = parse(nodes=nodes, providers={**PROVIDERS, "gcp:region": None}, flink={"state": "gcs"})
    assert settings.gcp.region == PROVIDERS["gcp:zone"].rsplit("-", 1)[0]


def test_secrets_are_refused_in_flink_settings_without_echoing_them(parse):
    for key in ("fs.azure.account.key.acct.dfs.core.windows.net", "s3.secret-key", "security.ssl.keystore-password"):
        with pytest.raises(ConfigError) as err:
            parse(flink={"settings": {key: "hunter2-value"}})
        assert f"flink-swarm:flink.settings.{key}" in str(err.value) and "hunter2" not in str(err.value)
