"""Config validation: every bad input is refused with the field, the value and the fix."""
import pytest
import yaml

from components import config
from components.config import ConfigError

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
def test_even_number_of_managers(parse, managers):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": managers}] + BLOG[1:]
    message = refused(parse, "flink-swarm:topology", "mgr-1", nodes=nodes)
    assert "1, 3 or 5" in message


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
    refused(parse, "node 'on-prem'.publicIp", "None", sshPublicKey="ssh-ed25519 AAAA", sshPrivateKey="k",
            nodes=BLOG + [{"name": "on-prem", "cloud": "static", "role": "worker"}])


def test_static_node_with_bad_ip(parse):
    refused(parse, "node 'on-prem'.publicIp", "10.0.0.300", sshPublicKey="ssh-ed25519 AAAA", sshPrivateKey="k",
            nodes=BLOG + [{"name": "on-prem", "cloud": "static", "role": "worker", "publicIp": "10.0.0.300"}])


def test_static_nodes_need_own_key(parse):
    refused(parse, "flink-swarm:sshPrivateKey", "None",
            nodes=BLOG + [{"name": "on-prem", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10"}])


def test_static_node_settings(parse):
    nodes = BLOG + [{"name": "on-prem", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10",
                     "user": "admin", "port": 2222}]
    node = parse(nodes=nodes, sshPublicKey="ssh-ed25519 AAAA", sshPrivateKey="k").nodes[-1]
    assert (node.public_ip, node.private_ip, node.user, node.port) == ("192.0.2.10", "192.0.2.10", "admin", 2222)


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


def test_half_a_key_pair(parse):
    refused(parse, "flink-swarm:sshPrivateKey", "None", sshPublicKey="ssh-ed25519 AAAA")


def test_azure_nodes_need_a_location(parse):
    refused(parse, "azure-native:location", "None", providers=dict(PROVIDERS, **{"azure-native:location": None}))


def test_gcp_nodes_need_a_project(parse):
    refused(parse, "gcp:project", "None", providers=dict(PROVIDERS, **{"gcp:project": None}))


def test_gcp_zone_outside_region(parse):
    refused(parse, "gcp:zone", "europe-west1-b", providers=dict(PROVIDERS, **{"gcp:region": "us-east1"}))


def test_static_only_topology_needs_no_cloud_config(parse):
    nodes = [{"name": n, "cloud": "static", "role": r, "publicIp": f"192.0.2.{i}"}
             for i, (n, r) in enumerate([("m", "manager"), ("j", "jobmanager"), ("w", "worker")], 1)]
    settings = parse(nodes=nodes, providers={}, sshPublicKey="ssh-ed25519 AAAA", sshPrivateKey="k")
    assert [n.cloud for n in settings.nodes] == ["static"] * 3


@pytest.mark.parametrize("key,value", [("taskSlots", 0), ("taskmanagerMemory", "lots"), ("image", "")])
def test_bad_flink_settings(parse, key, value):
    refused(parse, f"flink-swarm:flink.{key}", value, flink={key: value})


def test_bad_docker_install(parse):
    refused(parse, "flink-swarm:dockerInstall", "snap", dockerInstall="snap")


def test_bad_name_prefix(parse):
    refused(parse, "flink-swarm:namePrefix", "Dev_Alice", namePrefix="Dev_Alice")


@pytest.mark.parametrize("overrides", [{"adminCidrs": None}, {"network": {"driver": "calico"}},
                                       {"topology": "config/topologies/missing.yaml"}])
def test_program_refuses_bad_config_before_registering_anything(program, overrides):
    with pytest.raises(ConfigError) as err:
        program(**overrides)
    assert err.value.registered == []
    assert program().resources  # the same runtime with good config does register resources


def test_ssh_dial_bounds_are_configurable(parse):
    assert parse(ssh={"dialAttempts": 3}).ssh == config.SshSpec(dial_attempts=3, dial_timeout=10)
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
