"""The containers' network: driver, subnet, MTUs and the subnet's room among the nodes' networks."""
import pytest

from tests.config_helpers import BLOG, GCP_ONLY, OWN_KEY, parse, refused, static  # noqa: F401 (parse: a fixture)


def test_unknown_network_driver(parse):
    refused(parse, "flink-swarm:network.driver", "calico", network={"driver": "calico"})


def test_bad_network_subnet(parse):
    refused(parse, "flink-swarm:network.subnet", "172.30.0.0/33", network={"subnet": "172.30.0.0/33"})


def test_unknown_network_key(parse):
    refused(parse, "flink-swarm:network.encrypt", "False", network={"driver": "overlay", "encrypt": False})


def test_network_mtu_and_the_weave_mtu_that_follows_it(parse):
    assert (parse().network.mtu, parse().network.weave_mtu) == (1460, 1376)  # GCP's 1460 less Weave's 84
    assert parse(network={"mtu": 1500}).network.weave_mtu == 1416
    refused(parse, "flink-swarm:network.mtu", 10**10, network={"mtu": 10**10})
    refused(parse, "flink-swarm:network.mtu", 576, network={"mtu": 576})
    refused(parse, "flink-swarm:network.weaveMtu", 1400, network={"weaveMtu": 1400})
    assert parse(network={"weaveMtu": 1300}).network.weave_mtu == 1300


# The containers' subnet among the nodes' networks ---------------------------------------------------

@pytest.mark.parametrize("subnet,nodes,overlaps", [
    ("10.8.0.0/13", BLOG, "azure.addressSpace"), ("10.10.8.0/24", BLOG, "azure.addressSpace"),
    ("10.20.0.0/16", BLOG, "gcp.subnet"), ("172.31.0.0/16", GCP_ONLY + [static(privateIp="172.31.0.9")], "privateIp"),
    ("192.168.5.0/24", GCP_ONLY + [static(ip="192.168.5.10")], "publicIp"),
])
def test_container_subnet_overlapping_a_node_network(parse, subnet, nodes, overlaps):
    message = refused(parse, "flink-swarm:network.subnet", subnet, network={"subnet": subnet}, nodes=nodes, **OWN_KEY)
    assert overlaps in message


def test_container_subnet_may_use_a_cloud_range_the_topology_has_no_node_on(parse):
    assert parse(nodes=GCP_ONLY, network={"subnet": "10.10.0.0/16"}).network.subnet == "10.10.0.0/16"


@pytest.mark.parametrize("subnet", ["0.0.0.0/0", "64.0.0.0/2", "172.0.0.0/7"])
def test_world_sized_container_subnet(parse, subnet):
    refused(parse, "flink-swarm:network.subnet", subnet, network={"subnet": subnet})
