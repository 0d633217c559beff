"""The policy pack: each policy on hand-written resources, then every policy over the graph the program
registers under mocks. Also the per-researcher dev stack: its topology and `tools/dev-stack`."""
import copy
import runpy

import pulumi_policy
import re

import pytest
import yaml
from pulumi_policy import (EnforcementLevel, PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions,
                           ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs)
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UnknownValueError, unknown_checking_proxy

from components import ports
from policy.policies import ADMIN_PORTS, CLUSTER_PORTS, LOOPBACK_PORTS, OPT_IN, POLICIES, Ingress, reached
from tests.harness import ROOT

NSG, RULE, FIREWALL = ("azure-native:network:NetworkSecurityGroup", "azure-native:network:SecurityRule",
                       "gcp:compute/firewall:Firewall")
AZ_VM, GCP_VM, AZ_IP = ("azure-native:compute:VirtualMachine", "gcp:compute/instance:Instance",
                        "azure-native:network:PublicIPAddress")
NETWORK, COMMAND = "docker:index/network:Network", "command:remote:Command"
OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
BY_NAME = {p.name: p for p in POLICIES}
CLUSTER_SOURCES = ["198.18.0.1/32", "198.18.0.2/32", "10.10.1.0/24"]


def resource(typ, props, name="res"):
    """A PolicyResource as the engine builds it: props behind the proxy that raises on unknown values."""
    urn = f"urn:pulumi:test::flink-swarm::{typ}::{name}"
    return PolicyResource(typ, unknown_checking_proxy(copy.deepcopy(props)), urn, name, OPTS, None, None, [], {})


def validate(policy, res):
    """Violation messages of one resource-validation policy on one PolicyResource."""
    found = []
    args = ResourceValidationArgs(res.resource_type, res.props, res.urn, res.name, OPTS, None)
    BY_NAME[policy].validate(args, lambda message, urn=None: found.append(message))
    return found


def violations(policy, typ, props):
    return validate(policy, resource(typ, props))


def stack_violations(policy, resources):
    found = []
    BY_NAME[policy].validate(StackValidationArgs(resources), lambda message, urn=None: found.append((message, urn)))
    return found


def azure_rule(**fields):
    """An inbound allow rule; `fields` override or (as None) remove the defaults."""
    rule = {"name": "r", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
            "sourcePortRange": "*", "destinationAddressPrefix": "*"}
    rule.update(fields)
    return {k: v for k, v in rule.items() if v is not None}


def firewall(sources, *allows, **fields):
    props = {"direction": "INGRESS", "allows": list(allows), **fields}
    if sources is not None:
        props["sourceRanges"] = sources
    return props


# cluster-ports-not-public ---------------------------------------------------------------------------

AZURE_HOLES = [
    azure_rule(sourceAddressPrefix="*", destinationPortRange="2377"),
    azure_rule(sourceAddressPrefix="Internet", protocol="Udp", destinationPortRange="6000-7000"),
    azure_rule(sourceAddressPrefixes=["10.0.0.0/8", "0.0.0.0/0"], destinationPortRanges=["22", "7946"]),
    azure_rule(sourceAddressPrefix="Any", protocol="*", destinationPortRange="*"),
    azure_rule(sourceAddressPrefix="::/0", protocol="Esp", destinationPortRange="*"),
    azure_rule(sourceAddressPrefix="internet", protocol="Tcp", destinationPortRanges=["6125"]),
]
AZURE_FINE = [
    azure_rule(sourceAddressPrefixes=CLUSTER_SOURCES, destinationPortRanges=["2377"]),
    azure_rule(sourceAddressPrefix="*", destinationPortRange="22"),
    azure_rule(sourceAddressPrefix="*", destinationPortRanges=["80", "443", "8081"]),
    azure_rule(sourceAddressPrefix="*", destinationPortRange="2377", access="Deny"),
    azure_rule(sourceAddressPrefix="*", destinationPortRange="2377", direction="Outbound"),
    azure_rule(sourceAddressPrefix="Internet", protocol="Icmp", destinationPortRange="*"),
    azure_rule(sourceAddressPrefix="VirtualNetwork", destinationPortRange="*"),
]


@pytest.mark.parametrize("rule", AZURE_HOLES)
def test_world_to_cluster_ports_is_caught_inline_and_standalone(rule):
    inline = violations("cluster-ports-not-public", NSG, {"securityRules": [AZURE_FINE[0], rule]})
    assert len(inline) == 1 and "cluster's own addresses" in inline[0]
    assert violations("cluster-ports-not-public", RULE, rule) == inline


@pytest.mark.parametrize("rule", AZURE_FINE)
def test_azure_rules_that_open_no_cluster_port_to_the_world_pass(rule):
    assert violations("cluster-ports-not-public", NSG, {"securityRules": [rule]}) == []
    assert violations("cluster-ports-not-public", RULE, rule) == []


def test_violation_names_the_rule_the_source_and_the_ports():
    rule = azure_rule(name="oops", sourceAddressPrefix="Internet", destinationPortRanges=["7000-8000", "2377"])
    [message] = violations("cluster-ports-not-public", RULE, rule)
    assert message.startswith("security rule 'oops' admits 'Internet' to tcp/2377, tcp/7077, tcp/7078, tcp/7946:")


@pytest.mark.parametrize("props", [
    firewall(["0.0.0.0/0"], {"protocol": "tcp", "ports": ["2377"]}),
    firewall(["203.0.113.7/32", "0.0.0.0/0"], {"protocol": "tcp", "ports": ["22"]},
             {"protocol": "udp", "ports": ["4789"]}),
    firewall(["0.0.0.0/0"], {"protocol": "all"}),
    firewall(["0.0.0.0/0"], {"protocol": "udp"}),
    firewall(["::/0"], {"protocol": "esp"}),
    firewall(["0.0.0.0/0"], {"protocol": "tcp", "ports": ["6000-7000"]}),
    firewall(None, {"protocol": "tcp", "ports": ["6123-6127"]}),  # no source at all: GCP admits 0.0.0.0/0
])
def test_gcp_firewall_open_to_the_world_on_cluster_ports_is_caught(props):
    assert len(violations("cluster-ports-not-public", FIREWALL, props)) == 1


@pytest.mark.parametrize("props", [
    firewall(CLUSTER_SOURCES, {"protocol": "tcp", "ports": ["2377"]}),
    firewall(["0.0.0.0/0"], {"protocol": "tcp", "ports": ["22", "8081"]}),
    firewall(["0.0.0.0/0"], {"protocol": "icmp"}),
    firewall(None, {"protocol": "tcp", "ports": ["2377"]}, sourceTags=["flink-swarm"]),
    firewall(["0.0.0.0/0"], {"protocol": "tcp", "ports": ["2377"]}, direction="EGRESS"),
])
def test_gcp_firewalls_that_keep_cluster_ports_closed_pass(props):
    assert violations("cluster-ports-not-public", FIREWALL, props) == []


def test_a_rule_unknown_during_preview_does_not_hide_a_known_hole():
    rules = [azure_rule(sourceAddressPrefixes=UNKNOWN_ARRAY_VALUE, destinationPortRanges=["2377"]),
             azure_rule(name="open", sourceAddressPrefix="*", destinationPortRange="4789", protocol="Udp")]
    found = []
    res = resource(NSG, {"securityRules": rules})
    with pytest.raises(UnknownValueError):  # the engine reports that the policy could not fully run
        BY_NAME["cluster-ports-not-public"].validate(
            ResourceValidationArgs(NSG, res.props, res.urn, res.name, OPTS, None), lambda m, urn=None: found.append(m))
    assert len(found) == 1 and "'open'" in found[0]


@pytest.mark.parametrize("rule", ports.TABLE, ids=lambda r: r.name)
def test_every_port_table_rule_opened_to_the_world_is_caught_only_if_cluster_scoped(rule):
    hits = reached(Ingress("rule", ("*",), rule.protocol, rule.ports), CLUSTER_PORTS, esp=True)
    assert bool(hits) == (rule.scope == ports.CLUSTER)


@pytest.mark.parametrize("rule", ports.TABLE, ids=lambda r: r.name)
def test_every_port_table_rule_for_admins_is_an_admin_port_of_the_pack(rule):
    hits = reached(Ingress("rule", ("*",), rule.protocol, rule.ports), ADMIN_PORTS, esp=False)
    assert bool(hits) == (rule.scope in (ports.ADMIN, ports.LOOPBACK))


def test_the_ports_no_firewall_opens_are_the_port_tables_loopback_ones():
    assert LOOPBACK_PORTS == {int(p) for r in ports.TABLE if r.scope == ports.LOOPBACK for p in r.ports}


# admin-ports-not-public, admin-ports-world-open-by-choice -----------------------------------------

MARKED = f"admin access from anywhere: {OPT_IN} is true"  # as the program describes an opted-in rule

WORLD_ADMIN = [
    (FIREWALL, firewall(["0.0.0.0/0"], {"protocol": "tcp", "ports": ["8081"]})),
    (FIREWALL, firewall(None, {"protocol": "tcp", "ports": ["22"]})),
    (RULE, azure_rule(sourceAddressPrefix="*", destinationPortRange="8000-9000")),
    (RULE, azure_rule(sourceAddressPrefix="Internet", destinationPortRange="22")),
    (NSG, {"securityRules": [azure_rule(sourceAddressPrefixes=["0.0.0.0/0"], destinationPortRanges=["22", "8081"])]}),
]


def marked(typ, props):
    """The resource as the program registers it with flink-swarm:worldOpenAdmin: the marker in the description."""
    if typ == NSG:
        return {"securityRules": [dict(rule, description=MARKED) for rule in props["securityRules"]]}
    return dict(props, description=MARKED)


@pytest.mark.parametrize("typ,props", WORLD_ADMIN)
def test_world_open_admin_ports_without_the_opt_in_are_mandatory_violations(typ, props):
    [message] = violations("admin-ports-not-public", typ, props)
    assert "narrow flink-swarm:adminCidrs" in message and OPT_IN in message
    assert violations("admin-ports-world-open-by-choice", typ, props) == []


@pytest.mark.parametrize("typ,props", WORLD_ADMIN)
def test_world_open_admin_ports_with_the_opt_in_only_warn(typ, props):
    assert violations("admin-ports-not-public", typ, marked(typ, props)) == []
    [message] = violations("admin-ports-world-open-by-choice", typ, marked(typ, props))
    assert "opened on purpose" in message


def test_admin_ports_from_own_networks_pass_and_the_marker_opens_no_cluster_port():
    own = firewall(["203.0.113.7/32"], {"protocol": "tcp", "ports": ["22", "8081"]})
    for policy in ("admin-ports-not-public", "admin-ports-world-open-by-choice"):
        assert violations(policy, FIREWALL, own) == []
        assert violations(policy, RULE, azure_rule(sourceAddressPrefix="*", destinationPortRange="2377")) == []
    swarm = marked(RULE, azure_rule(sourceAddressPrefix="*", destinationPortRange="2377"))
    assert len(violations("cluster-ports-not-public", RULE, swarm)) == 1


# flink-rest-not-opened -------------------------------------------------------------------------------

@pytest.mark.parametrize("typ,props", [
    (FIREWALL, firewall(["203.0.113.7/32"], {"protocol": "tcp", "ports": ["8081"]})),  # adminCidrs: still no
    (FIREWALL, firewall(["10.0.0.0/8"], {"protocol": "all"})),
    (RULE, azure_rule(sourceAddressPrefix="203.0.113.7/32", destinationPortRange="8000-9000")),
    (NSG, {"securityRules": [azure_rule(sourceAddressPrefixes=["203.0.113.7/32"], destinationPortRanges=["22", "8081"])]}),
    (NSG, {"securityRules": [dict(azure_rule(sourceAddressPrefixes=["0.0.0.0/0"], destinationPortRanges=["8081"]),
                                  description=MARKED)]}),  # the world-open opt-in does not cover it either
    (FIREWALL, firewall(["203.0.113.7/32"], {"protocol": "tcp", "ports": ["8083"]})),  # the SQL gateway
    (RULE, azure_rule(sourceAddressPrefix="203.0.113.7/32", destinationPortRange="8080")),  # Spark's master UI
])
def test_flink_rest_opened_to_anyone_is_a_mandatory_violation(typ, props):
    [message] = violations("flink-rest-not-opened", typ, props)
    assert re.search(r"/80(80|81|83): Flink's REST API and SQL gateway and Spark's master UI have no authentication",
                     message) and "flink-swarm ui" in message


def test_flink_rest_closed_passes():
    assert violations("flink-rest-not-opened", FIREWALL, firewall(["203.0.113.7/32"], {"protocol": "tcp",
                                                                                        "ports": ["22"]})) == []
    assert violations("flink-rest-not-opened", RULE, azure_rule(sourceAddressPrefix="203.0.113.7/32",
                                                                destinationPortRange="8081", access="Deny")) == []


# ssh-password-login-disabled, gcp-project-ssh-keys-blocked -----------------------------------------

def azure_vm(**linux):
    config = {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [{"keyData": "ssh-ed25519 AAAA"}]}, **linux}
    return {"osProfile": {"adminUsername": "ubuntu", "linuxConfiguration": config}}


def gcp_vm(metadata=None, **props):
    return {"metadata": {"block-project-ssh-keys": "true", **(metadata or {})},
            "networkInterfaces": [{"accessConfigs": [{"natIp": "198.18.0.1"}]}], **props}


def test_azure_vm_with_keys_only_passes():
    assert violations("ssh-password-login-disabled", AZ_VM, azure_vm()) == []


@pytest.mark.parametrize("props,expected", [
    (azure_vm(disablePasswordAuthentication=False), "disablePasswordAuthentication"),
    ({"osProfile": {"adminUsername": "ubuntu"}}, "disablePasswordAuthentication"),
    ({"osProfile": dict(azure_vm()["osProfile"], adminPassword="hunter2hunter2")}, "adminPassword"),
])
def test_azure_vm_with_password_login_is_caught(props, expected):
    [message] = violations("ssh-password-login-disabled", AZ_VM, props)
    assert expected in message


@pytest.mark.parametrize("props", [
    gcp_vm({"startup-script": "sed -i 's/^#*PasswordAuthentication .*/PasswordAuthentication yes/' sshd_config"}),
    gcp_vm(metadataStartupScript="echo 'PasswordAuthentication  yes' >> /etc/ssh/sshd_config"),
    gcp_vm({"user-data": "#cloud-config\nssh_pwauth: true\n"}),
])
def test_gcp_instance_enabling_password_login_is_caught(props):
    assert len(violations("ssh-password-login-disabled", GCP_VM, props)) == 1


def test_gcp_instance_with_harmless_scripts_passes():
    props = gcp_vm({"startup-script": "apt-get update", "user-data": "#cloud-config\nssh_pwauth: false\n"})
    assert violations("ssh-password-login-disabled", GCP_VM, props) == []


@pytest.mark.parametrize("value,caught", [("true", False), ("TRUE", False), ("false", True), (None, True)])
def test_gcp_project_wide_ssh_keys_must_be_blocked(value, caught):
    props = gcp_vm()
    if value is None:
        del props["metadata"]["block-project-ssh-keys"]
    else:
        props["metadata"]["block-project-ssh-keys"] = value
    assert bool(violations("gcp-project-ssh-keys-blocked", GCP_VM, props)) == caught


# static-public-ips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("props,count", [
    ({"publicIPAllocationMethod": "Static", "sku": {"name": "Standard", "tier": "Regional"}}, 0),
    ({"publicIPAllocationMethod": "Dynamic", "sku": {"name": "Standard"}}, 1),
    ({"publicIPAllocationMethod": "Static", "sku": {"name": "Basic"}}, 1),
    ({"publicIPAllocationMethod": "Dynamic"}, 2),
])
def test_azure_public_ips_are_static_and_standard(props, count):
    assert len(violations("static-public-ips", AZ_IP, props)) == count


@pytest.mark.parametrize("interfaces,count", [
    ([{"accessConfigs": [{"natIp": "198.18.0.1", "networkTier": "PREMIUM"}]}], 0),
    ([{"accessConfigs": [{"networkTier": "PREMIUM"}]}], 1),
    ([{"accessConfigs": [{"natIp": ""}]}, {"accessConfigs": [{}]}], 2),
    ([{"subnetwork": "s"}], 0),  # no public IP at all
])
def test_gcp_instances_use_reserved_addresses(interfaces, count):
    assert len(violations("static-public-ips", GCP_VM, gcp_vm(networkInterfaces=interfaces))) == count


# overlay-network-encrypted, weave-network-password --------------------------------------------------

@pytest.mark.parametrize("props,caught", [
    ({"driver": "overlay", "options": {"encrypted": "true"}}, False),
    ({"driver": "overlay"}, True),
    ({"driver": "overlay", "options": {"com.docker.network.driver.mtu": "1400"}}, True),
    ({"driver": "weaveworks/net-plugin:latest_release"}, False),
])
def test_overlay_networks_are_encrypted(props, caught):
    assert bool(violations("overlay-network-encrypted", NETWORK, props)) == caught


WEAVE_NET = resource(NETWORK, {"driver": "rajchaudhuri/net-plugin:2.8.1"}, "flink-net")


def weave_command(node, stdin):
    return resource(COMMAND, {"create": "sudo -n bash -c ...", **({"stdin": stdin} if stdin is not None else {})},
                    f"{node}-weave")


def test_weave_with_a_password_on_every_plugin_passes():
    resources = [WEAVE_NET, weave_command("a", "s3cret\n"), weave_command("b", "s3cret\n")]
    assert stack_violations("weave-network-password", resources) == []


def test_weave_plugin_without_password_is_caught():
    missing, empty = weave_command("a", None), weave_command("b", " \n")
    found = stack_violations("weave-network-password", [WEAVE_NET, missing, empty, weave_command("c", "x\n")])
    assert [urn for _, urn in found] == [missing.urn, empty.urn]


def test_weave_network_without_plugin_commands_is_caught():
    [(message, urn)] = stack_violations("weave-network-password", [WEAVE_NET, resource(COMMAND, {}, "a-docker")])
    assert urn == WEAVE_NET.urn and "no Weave plugin command" in message


def test_overlay_network_needs_no_weave_password():
    assert stack_violations("weave-network-password", [resource(NETWORK, {"driver": "overlay"})]) == []


# state-storage-private -------------------------------------------------------------------------------

GCS_OK = {"publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True, "location": "europe-west1"}
ACCOUNT_OK = {"allowBlobPublicAccess": False, "enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"}


@pytest.mark.parametrize("typ,props,count", [
    ("gcp:storage/bucket:Bucket", GCS_OK, 0),
    ("gcp:storage/bucket:Bucket", {**GCS_OK, "publicAccessPrevention": "inherited"}, 1),
    ("gcp:storage/bucket:Bucket", {"location": "EU"}, 2),
    ("azure-native:storage:StorageAccount", ACCOUNT_OK, 0),
    ("azure-native:storage:StorageAccount", {**ACCOUNT_OK, "allowBlobPublicAccess": True}, 1),
    ("azure-native:storage:StorageAccount", {**ACCOUNT_OK, "enableHttpsTrafficOnly": False,
                                             "minimumTlsVersion": "TLS1_0"}, 2),
    ("azure-native:storage:StorageAccount", {}, 2),  # public blob access unset: the API's default allows it
])
def test_state_storage_is_private_and_https_only(typ, props, count):
    assert len(violations("state-storage-private", typ, props)) == count


def test_enforcement_levels():
    mandatory = {p.name for p in POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY}
    assert mandatory == {"cluster-ports-not-public", "admin-ports-not-public", "flink-rest-not-opened",
                         "ssh-password-login-disabled",
                         "static-public-ips", "state-storage-private", "weave-network-password",
                         "local-nodes-loopback-only"}


# every policy over the program's resources ---------------------------------------------------------

def check(resources):
    """Every policy over PolicyResources: {policy name: ["<resource>: <message>", ...]} for those that report."""
    found = {}
    for policy in POLICIES:
        messages = []
        if isinstance(policy, ResourceValidationPolicy):
            for res in resources:
                messages += [f"{res.name}: {m}" for m in validate(policy.name, res)]
        else:
            messages += [m for m, _ in stack_violations(policy.name, resources)]
        if messages:
            found[policy.name] = messages
    return found


def graph(run):
    return [resource(r.type, r.inputs, r.name) for r in run.custom()]


def mandatory(found):
    return {name: m for name, m in found.items() if BY_NAME[name].enforcement_level == EnforcementLevel.MANDATORY}


@pytest.mark.parametrize("overrides", [{}, {"network": {"driver": "overlay"}},
                                       {"topology": "config/topologies/dev-small.yaml"},
                                       {"flink": {"state": "gcs"}}, {"flink": {"state": "azure"}}],
                         ids=["weave", "overlay-encrypted", "dev-small", "state-gcs", "state-azure"])
def test_program_passes_every_policy(program, overrides):
    assert check(graph(program(**overrides))) == {}


def test_the_local_stack_passes_every_policy_but_the_unencrypted_overlay_warning(program):
    local = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())["config"]
    cleared = {key: None for key in ("azure-native:location", "gcp:project", "gcp:zone")}
    found = check(graph(program(stack="local", **{**local, **cleared})))
    assert list(found) == ["overlay-network-encrypted"]  # on one machine's bridge, by Pulumi.local.yaml's choice


@pytest.mark.parametrize("props, count", [
    ({"ports": [{"internal": 22, "external": 2222, "ip": "127.0.0.1"}]}, 0),
    ({"ports": [{"internal": 22, "external": 2222, "ip": "::1"}]}, 0),
    ({"ports": [{"internal": 22, "external": 2222}]}, 1),  # the provider's default ip is 0.0.0.0
    ({"ports": [{"internal": 8081, "external": 8081, "ip": "192.168.1.5"}]}, 1),
    ({"ports": [], "privileged": True}, 1),
])
def test_local_nodes_publish_on_loopback_only_and_are_not_privileged(props, count):
    assert len(validate("local-nodes-loopback-only", resource("docker:index/container:Container", props))) == count


def test_unencrypted_overlay_only_warns(program):
    found = check(graph(program(network={"driver": "overlay", "encrypted": False})))
    assert list(found) == ["overlay-network-encrypted"] and mandatory(found) == {}


def test_admin_cidrs_open_to_the_world_by_the_opt_in_only_warn(program):
    found = check(graph(program(adminCidrs=["0.0.0.0/0"], worldOpenAdmin=True)))
    assert mandatory(found) == {}
    assert sorted(m.split(":")[0] for m in found["admin-ports-world-open-by-choice"]) == [
        "fw-grafana", "fw-prometheus", "fw-ssh", "nsg", "nsg", "nsg"]  # no firewall opens Flink's REST API (8081)


def test_program_nsg_opened_to_the_world_on_2377_is_caught(program):
    nsg = program().get("nsg", NSG)
    props = copy.deepcopy(nsg.inputs)
    props["securityRules"].append(azure_rule(name="debug-swarm", priority=4000, sourceAddressPrefix="*",
                                             destinationPortRange="2377"))
    [message] = validate("cluster-ports-not-public", resource(NSG, props, "nsg"))
    assert "'debug-swarm'" in message and "tcp/2377" in message


def test_program_firewall_opened_to_the_world_is_caught(program):
    fw = program().get("fw-weave-udp", FIREWALL)
    props = dict(fw.inputs, sourceRanges=[*fw.inputs["sourceRanges"], "0.0.0.0/0"])
    [message] = validate("cluster-ports-not-public", resource(FIREWALL, props, fw.name))
    assert "udp/6783, udp/6784" in message


def test_program_weave_plugin_without_password_is_caught(program):
    resources = graph(program())
    for res in resources:
        if res.name.endswith("-weave"):
            res.props["stdin"] = ""
    assert len(check(resources)["weave-network-password"]) == 5


# the pack itself, the dev topology and tools/dev-stack -------------------------------------------

def test_pack_entry_point_builds_the_pack_from_policies(monkeypatch):
    built = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda name, policies: built.append((name, policies)))
    runpy.run_path(str(ROOT / "policy"), run_name="__main__")  # as `python -m pulumi.policy` runs a pack
    [(name, policies)] = built
    assert name == "flink-swarm-policies" and [p.name for p in policies] == list(BY_NAME)
    assert yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())["runtime"]["name"] == "python"
