"""Who reaches the nodes and how: sshUser, adminCidrs, the key pair, the name prefix and SSH dialling."""
import pytest

from components.config import ConfigError
from components.config.types import SshSpec
from tests.config_helpers import (BLOG, HOST_KEY, OWN_KEY, PRIVATE_KEY, PUBLIC_KEY,  # noqa: F401 (parse: a fixture)
                                  parse, refused, static)


@pytest.mark.parametrize("user", ["admin", "administrator", "root", "test1"])
def test_azure_refuses_reserved_admin_names(parse, user):
    refused(parse, "flink-swarm:sshUser", user, sshUser=user)
    gcp_only = [{"name": "m", "cloud": "gcp", "role": "manager"}, {"name": "j", "cloud": "gcp", "role": "jobmanager"},
                {"name": "w", "cloud": "gcp", "role": "worker"}]
    assert parse(nodes=gcp_only, sshUser=user).ssh_user == user  # only Azure refuses them


def test_bad_name_prefix(parse):
    refused(parse, "flink-swarm:namePrefix", "Dev_Alice", namePrefix="Dev_Alice")


def test_ssh_dial_bounds_are_configurable(parse):
    assert parse(ssh={"dialAttempts": 3}).ssh == SshSpec(dial_attempts=3, dial_timeout=10)
    refused(parse, "flink-swarm:ssh.dialTimeoutSeconds", 0, ssh={"dialTimeoutSeconds": 0})
    refused(parse, "flink-swarm:ssh.retries", 5, ssh={"retries": 5})


# adminCidrs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cidrs", [None, [], "203.0.113.7/32"])
def test_admin_cidrs_missing(parse, cidrs):
    refused(parse, "flink-swarm:adminCidrs", cidrs, adminCidrs=cidrs)


@pytest.mark.parametrize("cidr", ["banana", "10.0.0.1/24", "2001:db8::/32", "300.1.1.1/32"])
def test_admin_cidrs_invalid_entry(parse, cidr):
    refused(parse, "flink-swarm:adminCidrs[1]", cidr, adminCidrs=["203.0.113.7/32", cidr])


@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["11.0.0.0/8"],
                                   [f"{octet}.0.0.0/8" for octet in range(20, 22)],
                                   [f"44.{octet}.0.0/16" for octet in range(256)]])
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


# Key pair modes -----------------------------------------------------------------------------------

def test_key_pair_modes(parse):
    generated, given, agent = parse(), parse(**OWN_KEY), parse(sshPublicKey=PUBLIC_KEY + "\n")
    assert (generated.ssh_public_key, generated.ssh_private_key, generated.ssh_agent) == (None, None, False)
    assert (given.ssh_public_key, given.ssh_private_key, given.ssh_agent) == (PUBLIC_KEY, PRIVATE_KEY, False)
    assert (agent.ssh_public_key, agent.ssh_private_key, agent.ssh_agent) == (PUBLIC_KEY, None, True)


def test_private_key_without_its_public_key(parse):
    message = refused(parse, "flink-swarm:sshPublicKey", "None", sshPrivateKey=PRIVATE_KEY)
    assert "b3BlbnNz" not in message


def test_static_nodes_need_own_key(parse):
    message = refused(parse, "flink-swarm:sshPublicKey", "None", nodes=BLOG + [static()])
    assert "ssh-add" in message  # or the deployer's ssh-agent holds it


def test_static_nodes_with_the_ssh_agent(parse):
    settings = parse(nodes=BLOG + [static()], sshPublicKey=PUBLIC_KEY)
    assert settings.ssh_agent and settings.nodes[-1].host_key == HOST_KEY


def test_a_private_key_is_checked_as_text(parse):
    """parse checks the key's text; load() hands the components the secret Output instead."""
    refused(parse, "flink-swarm:sshPrivateKey", "a value of type object", sshPublicKey=PUBLIC_KEY,
            sshPrivateKey=object())


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
