"""Static nodes (hosts of your own): addresses, SSH login, host key and firewall."""
import pytest

from components.config import ConfigError
from tests.config_helpers import (BLOG, HOST_KEY, OWN_KEY, PRIVATE_KEY, parse,  # noqa: F401 (parse: a fixture)
                                  refused, static, with_node)


def test_static_node_without_public_ip(parse):
    node = static()
    del node["publicIp"]
    refused(parse, "node 'on-prem'.publicIp", "None", nodes=BLOG + [node], **OWN_KEY)


def test_static_node_with_bad_ip(parse):
    refused(parse, "node 'on-prem'.publicIp", "10.0.0.300", nodes=BLOG + [static(ip="10.0.0.300")], **OWN_KEY)


def test_static_node_settings(parse):
    nodes = BLOG + [static(user="admin", port=2222)]
    node = parse(nodes=nodes, **OWN_KEY).nodes[-1]
    assert (node.public_ip, node.private_ip, node.user, node.port) == ("192.0.2.10", "192.0.2.10", "admin", 2222)
    assert (node.host_key, node.firewall) == (HOST_KEY, True)


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


# hostKey and firewall -----------------------------------------------------------------------------

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
