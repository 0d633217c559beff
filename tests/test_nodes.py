"""The node layer under mocks: machines, static IPs, the firewall from the port table, names, secrets."""
import json
import os
import stat

from types import SimpleNamespace

import pytest
import yaml

from components import ports
from components.config.types import MonitoringSpec, NetworkSpec
from tests.harness import ROOT

AZ_VM, GCP_VM = "azure-native:compute:VirtualMachine", "gcp:compute/instance:Instance"
AZ_IP, GCP_IP = "azure-native:network:PublicIPAddress", "gcp:compute/address:Address"
NSG, FIREWALL = "azure-native:network:NetworkSecurityGroup", "gcp:compute/firewall:Firewall"
WORLD = {"0.0.0.0/0", "*", "Internet", "Any", "any", "0.0.0.0"}
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTuUyvEVjtTWSqY5djgqilgnuNeuCWaecAv0KRTt73+"
OWN_KEY = {"sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG93biBrZXkgb2YgdGhlIHRlc3RzLCAzMiBieXRlcy4u user@host",
           "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nown\n-----END OPENSSH PRIVATE KEY-----\n"}


def topology(tmp_path, nodes, name="topology.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    return str(path)


def public_ips(run):
    return {row["name"]: row["publicIp"] for row in run.outputs["nodes"]}


def cluster_sources(run):
    return sorted(f"{ip}/32" for ip in public_ips(run).values()) + ["10.10.0.0/20", "10.20.0.0/20"]


def network(driver="weave", encrypted=True):
    return NetworkSpec(driver, "172.30.0.0/16", encrypted, "weaveworks/net-plugin:latest_release", 1376)


def monitoring(enabled=True, grafana=True):
    return MonitoringSpec(enabled, grafana, "p", "n", "g", "15s", "15d")


def stack(network_spec, monitoring_spec, sql_gateway=True, spark=False):
    """What ports.rules_for reads of the settings."""
    return SimpleNamespace(network=network_spec, monitoring=monitoring_spec,
                           flink=SimpleNamespace(sql_gateway=sql_gateway), spark=SimpleNamespace(enabled=spark))


def test_blog_topology_machines_and_static_ips(program):
    run = program()
    vms = run.of_type(AZ_VM)
    assert sorted(vm.inputs["vmName"] for vm in vms) == [
        "azure-flink-jobmanager", "azure-swarm-manager", "azure-swarm-worker-1", "azure-swarm-worker-2"]
    assert [i.inputs["name"] for i in run.of_type(GCP_VM)] == ["test-google-cloud-worker-1"]
    azure_ips, gcp_ips = run.of_type(AZ_IP), run.of_type(GCP_IP)
    assert len(azure_ips) + len(gcp_ips) == 5
    for ip in azure_ips:
        assert ip.inputs["publicIPAllocationMethod"] == "Static"
        assert ip.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
    assert gcp_ips[0].inputs["addressType"] == "EXTERNAL"
    instance = run.of_type(GCP_VM)[0]
    nat_ip = instance.inputs["networkInterfaces"][0]["accessConfigs"][0]["natIp"]
    assert nat_ip == public_ips(run)["google-cloud-worker-1"]
    assert len(set(public_ips(run).values())) == 5


def test_machines_match_the_seed(program):
    run = program()
    for vm in run.of_type(AZ_VM):
        assert vm.inputs["hardwareProfile"]["vmSize"] == "Standard_D2s_v5"
        storage = vm.inputs["storageProfile"]
        assert storage["osDisk"]["diskSizeGB"] == 30
        assert storage["imageReference"]["publisher"] == "Canonical" and "ubuntu" in storage["imageReference"]["offer"]
        linux = vm.inputs["osProfile"]["linuxConfiguration"]
        assert linux["disablePasswordAuthentication"] is True
        assert linux["ssh"]["publicKeys"][0]["path"] == "/home/ubuntu/.ssh/authorized_keys"
        assert "adminPassword" not in vm.inputs["osProfile"]
    instance = run.of_type(GCP_VM)[0].inputs
    assert instance["machineType"] == "e2-standard-2"
    assert instance["bootDisk"]["initializeParams"]["size"] == 30
    assert "ubuntu" in instance["bootDisk"]["initializeParams"]["image"]
    assert instance["metadata"]["ssh-keys"].startswith("ubuntu:ssh-rsa ")


def test_size_is_overridable_per_group(program, tmp_path):
    nodes = [{"name": "m", "cloud": "azure", "role": "manager"},
             {"name": "j", "cloud": "azure", "role": "jobmanager", "size": "Standard_E4s_v5"},
             {"name": "g", "cloud": "gcp", "role": "worker", "size": "n2-highmem-4"}]
    run = program(topology=topology(tmp_path, nodes))
    sizes = {vm.inputs["vmName"]: vm.inputs["hardwareProfile"]["vmSize"] for vm in run.of_type(AZ_VM)}
    assert sizes == {"m": "Standard_D2s_v5", "j": "Standard_E4s_v5"}
    assert run.of_type(GCP_VM)[0].inputs["machineType"] == "n2-highmem-4"


@pytest.mark.parametrize("driver,encrypted", [("weave", True), ("overlay", True), ("overlay", False)])
def test_azure_nsg_follows_the_port_table(program, driver, encrypted):
    run = program(network={"driver": driver, "encrypted": encrypted})
    rules = {r["name"]: r for r in run.of_type(NSG)[0].inputs["securityRules"]}
    expected = ports.cloud_rules_for(stack(network(driver, encrypted), monitoring()))
    assert set(rules) == {rule.name for _, rule in expected} and "flink-ui" not in rules  # reached over SSH
    for index, rule in expected:
        got = rules[rule.name]
        assert got["protocol"] == {"tcp": "Tcp", "udp": "Udp", "esp": "Esp"}[rule.protocol]
        if rule.ports:
            assert got["destinationPortRanges"] == list(rule.ports) and "destinationPortRange" not in got
        else:  # ESP: Azure takes "*" only in the single-value field
            assert got["destinationPortRange"] == "*" and "destinationPortRanges" not in got
        assert got["direction"] == "Inbound" and got["access"] == "Allow"
        assert got["priority"] == 100 + 10 * index
        want = cluster_sources(run) if rule.scope == ports.CLUSTER else ["203.0.113.7/32"]
        assert got["sourceAddressPrefixes"] == want, rule.name
    assert ("overlay-esp" in rules) == (driver == "overlay" and encrypted)
    assert ("weave-udp" in rules) == (driver == "weave")


@pytest.mark.parametrize("driver,encrypted", [("weave", True), ("overlay", True)])
def test_gcp_firewall_follows_the_port_table(program, driver, encrypted):
    run = program(network={"driver": driver, "encrypted": encrypted})
    firewalls = {f.inputs["name"]: f.inputs for f in run.of_type(FIREWALL)}
    expected = ports.cloud_rules_for(stack(network(driver, encrypted), monitoring()))
    assert set(firewalls) == {f"test-{rule.name}" for _, rule in expected} and "test-flink-ui" not in firewalls
    for _, rule in expected:
        got = firewalls[f"test-{rule.name}"]
        allow = got["allows"][0]
        assert allow["protocol"] == rule.protocol
        assert allow.get("ports", []) == list(rule.ports)
        assert got["direction"] == "INGRESS" and got["targetTags"] == ["test-flink-swarm"]
        want = cluster_sources(run) if rule.scope == ports.CLUSTER else ["203.0.113.7/32"]
        assert got["sourceRanges"] == want, rule.name


def test_port_table_matches_design():
    table = {(r.protocol, p) for r in ports.TABLE for p in (r.ports or ("",))}
    assert {("tcp", "2377"), ("tcp", "7946"), ("udp", "7946"), ("udp", "4789"), ("esp", ""), ("tcp", "6783"),
            ("udp", "6783-6784"), ("tcp", "6123-6125"), ("tcp", "6126-6127"), ("tcp", "8081"),
            ("tcp", "22"), ("tcp", "9100"), ("tcp", "9090"), ("tcp", "3000"), ("tcp", "8083"), ("tcp", "7077"),
            ("tcp", "7078"), ("tcp", "8080")} == table
    assert {r.name for r in ports.TABLE if r.scope == ports.ADMIN} == {"ssh", "prometheus", "grafana"}
    # Flink's REST API and SQL gateway run any jar or statement, Spark's master UI kills applications:
    # no firewall opens them, SSH tunnels reach them
    assert {r.name for r in ports.TABLE if r.scope == ports.LOOPBACK} == {"flink-ui", "flink-sql-gateway", "spark-ui"}
    weave = network("weave", True)
    for settings, needs in ((stack(weave, monitoring()), ("", "weave", "monitoring", "grafana")),
                            (stack(weave, monitoring(grafana=False)), ("", "weave", "monitoring")),
                            (stack(weave, monitoring(enabled=False)), ("", "weave")),
                            (stack(weave, monitoring(), spark=True), ("", "weave", "monitoring", "grafana", "spark"))):
        assert [rule.name for _, rule in ports.cloud_rules_for(settings)] == [
            r.name for r in ports.TABLE if r.scope != ports.LOOPBACK and r.needs in needs]
    assert "flink-sql-gateway" in [rule.name for _, rule in ports.rules_for(stack(weave, monitoring()))]
    assert "flink-sql-gateway" not in [rule.name for _, rule in ports.rules_for(stack(weave, monitoring(), False))]


def test_nothing_is_open_to_the_world(program):
    run = program()
    sources = [s for r in run.of_type(NSG)[0].inputs["securityRules"] for s in r["sourceAddressPrefixes"]]
    sources += [s for f in run.of_type(FIREWALL) for s in f.inputs["sourceRanges"]]
    assert sources and not WORLD & set(sources)
    for r in run.of_type(NSG)[0].inputs["securityRules"]:
        assert "sourceAddressPrefix" not in r


def test_world_only_when_the_user_writes_it(program):
    run = program(adminCidrs=["0.0.0.0/0"], worldOpenAdmin=True)
    ssh = next(r for r in run.of_type(NSG)[0].inputs["securityRules"] if r["name"] == "ssh")
    assert ssh["sourceAddressPrefixes"] == ["0.0.0.0/0"]
    swarm = next(r for r in run.of_type(NSG)[0].inputs["securityRules"] if r["name"] == "swarm-management")
    assert "0.0.0.0/0" not in swarm["sourceAddressPrefixes"]


def test_static_nodes_have_no_cloud_resources_but_are_in_the_firewall(program, tmp_path):
    blog = yaml.safe_load(open(ROOT / "config/topologies/blog.yaml"))["nodes"]
    nodes = blog + [{"name": "lab-box", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10",
                     "privateIp": "10.0.0.5", "user": "admin", "port": 2222, "hostKey": HOST_KEY}]
    run = program(topology=topology(tmp_path, nodes), **OWN_KEY, secrets=["sshPrivateKey"])
    assert not [r for r in run.resources if "lab-box" in r.name and r.type.startswith(("azure-native:", "gcp:"))]
    row = next(r for r in run.outputs["nodes"] if r["name"] == "lab-box")
    assert row == {"name": "lab-box", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10",
                   "privateIp": "10.0.0.5"}
    for rule in run.of_type(NSG)[0].inputs["securityRules"]:
        admin = {r.name for r in ports.TABLE if r.scope == ports.ADMIN}
        assert ("192.0.2.10/32" in rule["sourceAddressPrefixes"]) == (rule["name"] not in admin)
    assert "admin@192.0.2.10" in run.outputs["sshCommands"]["lab-box"]
    assert "-p 2222" in run.outputs["sshCommands"]["lab-box"]


def test_static_only_topology_creates_no_cloud_resources(program, tmp_path):
    nodes = [{"name": n, "cloud": "static", "role": r, "publicIp": f"192.0.2.{i}", "hostKey": HOST_KEY}
             for i, (n, r) in enumerate([("m", "manager"), ("j", "jobmanager"), ("w", "worker")], 1)]
    run = program(topology=topology(tmp_path, nodes), **OWN_KEY, secrets=["sshPrivateKey"],
                  **{"azure-native:location": None, "gcp:project": None, "gcp:zone": None})
    assert not [r for r in run.resources if r.type.startswith(("azure-native:", "gcp:"))]
    assert [row["publicIp"] for row in run.outputs["nodes"]] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_adding_or_removing_nodes_never_renames_others(program, tmp_path):
    def names(run):  # a Docker config is named by a digest of its text: Prometheus's changes with the nodes
        return {(r.type, r.name, r.inputs.get("vmName") or r.inputs.get("name")) for r in run.custom()
                if r.type != "docker:index/serviceConfig:ServiceConfig"}

    blog = yaml.safe_load(open(ROOT / "config/topologies/blog.yaml"))["nodes"]
    base = names(program())
    grown = [dict(n, count=4) if n.get("count") == 2 else n for n in blog]
    grown_names = names(program(topology=topology(tmp_path, grown, "grown.yaml")))
    assert base <= grown_names
    assert {n for n in grown_names - base if n[0] == AZ_VM} == {
        (AZ_VM, "azure-swarm-worker-3-vm", "azure-swarm-worker-3"),
        (AZ_VM, "azure-swarm-worker-4-vm", "azure-swarm-worker-4")}
    shrunk = [n for n in blog if n["cloud"] != "gcp"] + [
        {"name": "azure-extra", "cloud": "azure", "role": "worker"}]
    shrunk_names = names(program(topology=topology(tmp_path, shrunk, "shrunk.yaml")))
    azure_base = {n for n in base if n[0].startswith("azure-native:")}
    assert azure_base <= shrunk_names


def test_name_prefix_keeps_two_stacks_apart(program):
    alice, bob = program(stack="dev-alice"), program(stack="dev-bob")

    def physical(run):
        return {f.inputs["name"] for f in run.of_type(FIREWALL)} | {i.inputs["name"] for i in run.of_type(GCP_VM)}

    assert physical(alice).isdisjoint(physical(bob))
    assert all(n.startswith("dev-alice-") for n in physical(alice))
    custom = program(namePrefix="team-x")
    assert {i.inputs["name"] for i in custom.of_type(GCP_VM)} == {"team-x-google-cloud-worker-1"}


def test_gcp_ssh_waits_for_the_firewall(program):
    run = program()
    docker = run.get("google-cloud-worker-1-docker")
    assert all(run.depends_on(docker, fw) for fw in run.of_type(FIREWALL))


def test_resources_wait_for_what_they_use(program):
    run = program()
    vm = run.get("azure-swarm-worker-1-vm")
    assert run.depends_on(vm, run.get("azure-swarm-worker-1-nic"))
    assert run.depends_on(vm, run.get("azure-swarm-worker-1-ip"))
    nsg, gcp_ip = run.of_type(NSG)[0], run.get("google-cloud-worker-1-ip")
    assert run.depends_on(nsg, gcp_ip)  # Azure's firewall admits the GCP node's address
    fw = run.get("fw-swarm-management")
    assert run.depends_on(fw, run.get("azure-swarm-manager-ip"))
    assert run.depends_on(run.get("google-cloud-worker-1-vm"), gcp_ip)


def test_generated_key_is_secret_and_written_private(program, tmp_path):
    run = program()
    assert [k.name for k in run.of_type("tls:index/privateKey:PrivateKey") if k.inputs["algorithm"] == "RSA"] == [
        "ssh-key"]
    assert "sshPrivateKey" in run.secret_outputs and "sshPublicKey" not in run.secret_outputs
    key_file = tmp_path / "keys" / "flink-swarm-test"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700
    assert key_file.read_text() == run.outputs["sshPrivateKey"]
    # the command names the key as every machine has it (ssh expands ~), no path of the deployer's machine
    command = run.outputs["sshCommands"]["azure-swarm-manager"]
    assert command.startswith("ssh -i ~/.ssh/flink-swarm/flink-swarm-test -o IdentitiesOnly=yes -o "
                              "UserKnownHostsFile=~/.ssh/flink-swarm/flink-swarm-test.known_hosts ")
    assert str(tmp_path) not in json.dumps(run.outputs)


def test_own_key_is_used_and_nothing_generated(program):
    run = program(secrets=["sshPrivateKey"], **OWN_KEY)
    assert {k.inputs["algorithm"] for k in run.of_type("tls:index/privateKey:PrivateKey")} == {"ED25519"}  # host keys
    vm = run.of_type(AZ_VM)[0]
    assert vm.inputs["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"] == OWN_KEY["sshPublicKey"]
    assert run.outputs["sshPrivateKey"] == OWN_KEY["sshPrivateKey"] and "sshPrivateKey" in run.secret_outputs


def test_outputs_node_table_and_ssh_commands(program):
    run = program()
    table = run.outputs["nodes"]
    assert [(r["name"], r["cloud"], r["role"]) for r in table] == [
        ("azure-swarm-manager", "azure", "manager"), ("azure-flink-jobmanager", "azure", "jobmanager"),
        ("azure-swarm-worker-1", "azure", "worker"), ("azure-swarm-worker-2", "azure", "worker"),
        ("google-cloud-worker-1", "gcp", "worker")]
    assert all(r["privateIp"].startswith(("10.10.", "10.20.")) for r in table)
    for row in table:
        assert run.outputs["sshCommands"][row["name"]].endswith(f"-p 22 ubuntu@{row['publicIp']}")
        assert run.outputs["ssh"][row["name"]] == {"host": row["publicIp"], "port": 22, "user": "ubuntu"}
    assert run.outputs["sshIdentity"] == {"stack": "test", "agent": False}  # the job CLI's key files
    # Flink's REST API: on the jobmanager node's loopback, through SSH (`flink-swarm ui`), at no public URL
    assert run.outputs["flinkRest"] == {"node": "azure-flink-jobmanager", "port": 8081, "url": None}
    assert run.outputs["flinkUi"] == "flink-swarm ui --stack test"
    assert not {"flinkUiUrl", "submitJob"} & set(run.outputs)


def test_azure_resources_live_in_the_stack_resource_group(program):
    run = program()
    (group,) = run.of_type("azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == "test-flink-swarm" and group.inputs["location"] == "westeurope"
    azure = [r for r in run.custom() if r.type.startswith("azure-native:") and r is not group]
    assert len(azure) == 4 * 3 + 3 and all(r.inputs["resourceGroupName"] == "test-flink-swarm" for r in azure)
    assert run.of_type("azure-native:network:Subnet")[0].inputs["virtualNetworkName"] == "test-vnet"
