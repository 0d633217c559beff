"""The topology: roles, names, counts, clouds, node keys and labels, each bad entry refused with the fix."""
import pytest

from tests.config_helpers import BLOG, GCP_ONLY, parse, refused, with_node  # noqa: F401 (parse: a fixture)


def test_no_manager(parse):
    nodes = [node for node in BLOG if node["role"] != "manager"]
    refused(parse, "flink-swarm:topology", "no node has role manager", nodes=nodes)


def test_no_jobmanager(parse):
    nodes = [node for node in BLOG if node["role"] != "jobmanager"]
    refused(parse, "flink-swarm:topology", "exactly one node must have role jobmanager", nodes=nodes)


def test_two_jobmanagers(parse):
    nodes = BLOG + [{"name": "second-jm", "cloud": "azure", "role": "jobmanager"}]
    refused(parse, "flink-swarm:topology", "second-jm", nodes=nodes)


def test_no_worker(parse):
    refused(parse, "flink-swarm:topology", "no node has role worker", nodes=BLOG[:2])


def test_topology_without_nodes_list(parse, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("servers: []\n")
    refused(parse, "flink-swarm:topology", "servers", topology=str(empty))


# Names and counts ---------------------------------------------------------------------------------

def test_duplicate_names(parse):
    refused(parse, "azure-swarm-worker-1", "duplicate node name",
            nodes=BLOG + [{"name": "azure-swarm-worker-1", "cloud": "gcp", "role": "worker"}])


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
    assert [node.name for node in parse(nodes=nodes).of_role("worker")] == ["google-cloud-worker-1"]


def test_count_is_bounded_before_expanding(parse):
    for count in (5001, 10**8):  # 5001 first: before the bound, 10**8 took minutes and gigabytes
        nodes = BLOG[:3] + [dict(BLOG[3], count=count)]
        message = refused(parse, "node 'google-cloud-worker'.count", count, nodes=nodes)
        assert "5000" in message
    assert len(parse(nodes=GCP_ONLY[:3] + [dict(BLOG[3], count=4000)]).of_cloud("gcp")) == 4004  # no NSG limit


# Clouds, roles and node keys ----------------------------------------------------------------------

def test_unknown_cloud(parse):
    refused(parse, "node 'azure-swarm-manager'.cloud", "aws", nodes=with_node(cloud="aws"))


def test_unknown_role(parse):
    refused(parse, "node 'azure-swarm-manager'.role", "master", nodes=with_node(role="master"))


def test_unknown_node_key(parse):
    refused(parse, "nodes[0].replicas", "3", nodes=with_node(replicas=3))


def test_keys_that_are_not_text(parse):
    entry = {**BLOG[0], 1: "x", "replicas": 3}  # mixed with an unknown text key: no TypeError
    assert "not text" in refused(parse, "nodes[0]", 1, nodes=[entry] + BLOG[1:])
    assert "not text" in refused(parse, ".labels", 1, nodes=with_node(labels={1: "x", "disk": "ssd"}))


def test_cloud_node_cannot_take_public_ip(parse):
    refused(parse, "node 'azure-swarm-manager'.publicIp", "192.0.2.1", nodes=with_node(publicIp="192.0.2.1"))


# Labels -------------------------------------------------------------------------------------------

def test_label_reserved_by_program(parse):
    refused(parse, "labels.role", "gpu", nodes=with_node(labels={"role": "gpu"}))


@pytest.mark.parametrize("labels", [{"disk": "fast ssd"}, {"zone": "a,b"}, {"bad key": "x"}])
def test_bad_labels(parse, labels):
    key = next(iter(labels))
    refused(parse, f"labels.{key}", labels[key], nodes=with_node(labels=labels))


@pytest.mark.parametrize("labels", [{"disk": None}, {"disk": True}, {"tier": 1.5}, {"disk": ["ssd"]}])
def test_label_values_are_text(parse, labels):
    key = next(iter(labels))
    refused(parse, f"labels.{key}", labels[key], nodes=with_node(labels=labels))


def test_whole_number_label_values_are_text(parse):
    assert parse(nodes=with_node(labels={"rack": 7})).nodes[0].labels == {"rack": "7"}
