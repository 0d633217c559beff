"""Secure by default, under mocks: pinned host keys, the ssh-agent mode, the key files, static hosts' firewall."""
import json
import os
import shlex
import stat
import subprocess

import pulumi
import pytest
import yaml

from components import sshkey
from tests.harness import AZURE_VM, ROOT, is_secret, user_data

CMD = "command:remote:Command"
TLS, PROVIDER = "tls:index/privateKey:PrivateKey", "pulumi:providers:docker"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTuUyvEVjtTWSqY5djgqilgnuNeuCWaecAv0KRTt73+"
PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnKeyOfTheResearcherXXXXXXXXXXXXXXXXXXXXXX"
PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nown\n-----END OPENSSH PRIVATE KEY-----\n"
BLOG = yaml.safe_load((ROOT / "config/topologies/blog.yaml").read_text())["nodes"]


def with_static(tmp_path, **extra) -> str:
    nodes = BLOG + [{"name": "lab", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10", "port": 2222,
                     "hostKey": HOST_KEY, **extra}]
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    return str(path)


def test_every_cloud_vm_boots_with_a_host_key_the_program_made_and_checks(program):
    run = program()
    host_keys = {k.name.removesuffix("-host-key"): k for k in run.of_type(TLS) if k.inputs["algorithm"] == "ED25519"}
    vms = run.vms()
    assert sorted(host_keys) == sorted(vms) == sorted(r["name"] for r in run.outputs["nodes"])
    for node, vm in vms.items():
        keys = user_data(vm)["ssh_keys"]
        assert keys["ed25519_private"] == f"-----BEGIN OPENSSH PRIVATE KEY-----\nmock {node}-host-key\n" \
                                          "-----END OPENSSH PRIVATE KEY-----\n"
        assert keys["ed25519_public"] == f"ssh-ed25519 AAAAmocked25519{node}-host-key"
        secret = vm.raw["osProfile"] if vm.type == AZURE_VM else vm.raw["metadata"]
        assert is_secret(secret)  # the host's private key stays a secret end to end
        for cmd in run.of_type(CMD):
            if cmd.inputs["connection"]["host"] == next(r["publicIp"] for r in run.outputs["nodes"]
                                                       if r["name"] == node):
                assert cmd.inputs["connection"]["hostKey"] == keys["ed25519_public"], cmd.name


def test_static_hosts_are_checked_against_the_topologys_host_key(program, tmp_path):
    run = program(topology=with_static(tmp_path), sshPublicKey=PUBLIC, sshPrivateKey=PRIVATE,
                  secrets=["sshPrivateKey"])
    for step in ("docker", "join", "pull", "weave", "firewall"):
        assert run.get(f"lab-{step}", CMD).inputs["connection"]["hostKey"] == HOST_KEY
    assert not [k for k in run.of_type(TLS) if k.name == "lab-host-key"]


def test_the_deployer_checks_host_keys_too(program, tmp_path):
    run = program(topology=with_static(tmp_path), sshPublicKey=PUBLIC, sshPrivateKey=PRIVATE,
                  secrets=["sshPrivateKey"])
    known_hosts = tmp_path / "keys" / "flink-swarm-test.known_hosts"
    lines = known_hosts.read_text().splitlines()
    assert f"[192.0.2.10]:2222 {HOST_KEY}" in lines and len(lines) == 6
    manager_ip = run.outputs["managerAddress"]
    assert f"{manager_ip} ssh-ed25519 AAAAmocked25519azure-swarm-manager-host-key" in lines
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    (provider,) = run.of_type(PROVIDER)
    opts = json.loads(provider.inputs["sshOpts"])
    assert f"UserKnownHostsFile={known_hosts}" in opts and "StrictHostKeyChecking=yes" in opts
    for command in run.outputs["sshCommands"].values():  # the file as every machine names it (ssh expands ~)
        assert "-o UserKnownHostsFile=~/.ssh/flink-swarm/flink-swarm-test.known_hosts -o StrictHostKeyChecking=yes" \
            in command and str(tmp_path) not in command


def test_the_ssh_agent_mode_keeps_no_private_key_anywhere(program, tmp_path):
    run = program(topology=with_static(tmp_path), sshPublicKey=PUBLIC)
    assert [k.inputs["algorithm"] for k in run.of_type(TLS)] == ["ED25519"] * 5  # host keys only
    for cmd in run.of_type(CMD):
        assert "privateKey" not in cmd.inputs["connection"]  # pulumi-command then uses SSH_AUTH_SOCK
    opts = json.loads(run.of_type(PROVIDER)[0].inputs["sshOpts"])
    assert "-i" not in opts and "IdentitiesOnly=yes" not in opts  # ssh offers the agent's keys
    assert run.outputs["sshPrivateKey"] is None
    assert not (tmp_path / "keys" / "flink-swarm-test").exists()
    assert run.outputs["sshIdentity"] == {"stack": "test", "agent": True}  # the job CLI passes no -i either
    assert all(" -i " not in command for command in run.outputs["sshCommands"].values())


def test_static_hosts_get_the_port_table_before_docker_unless_their_owner_opts_out(program, tmp_path):
    run = program(topology=with_static(tmp_path), sshPublicKey=PUBLIC, sshPrivateKey=PRIVATE,
                  secrets=["sshPrivateKey"])
    firewall = run.get("lab-firewall", CMD)
    words = shlex.split(firewall.inputs["create"])
    assert words[5:7] == ["host-firewall", "apply"]
    cluster, admin, rules = words[7].split(","), words[8], words[9:]
    assert "192.0.2.10/32" in cluster and "10.10.0.0/20" in cluster and admin == "203.0.113.7/32"
    assert "tcp:2377:cluster" in rules and "udp:6783-6784:cluster" in rules and "tcp:22:admin" in rules
    assert "tcp:8081:loopback" in rules  # Flink's REST API: the host itself only (SSH tunnels), Docker's publish too
    assert shlex.split(firewall.inputs["delete"])[5:] == ["host-firewall", "remove"]
    assert run.depends_on(run.get("lab-docker", CMD), firewall)  # before Docker opens a port
    assert [c.name for c in run.of_type(CMD) if c.name.endswith("-firewall")] == ["lab-firewall"]  # cloud: no
    off = program(topology=with_static(tmp_path, firewall=False), sshPublicKey=PUBLIC, sshPrivateKey=PRIVATE,
                  secrets=["sshPrivateKey"])
    assert not [c for c in off.of_type(CMD) if c.name.endswith("-firewall")]


def test_world_open_admin_rules_carry_the_opt_in(program):
    opened = program(adminCidrs=["0.0.0.0/0"], worldOpenAdmin=True)
    rules = {r["name"]: r["description"] for r in opened.of_type("azure-native:network:NetworkSecurityGroup")[0]
             .inputs["securityRules"]}
    assert "flink-swarm:worldOpenAdmin" in rules["ssh"] and "flink-ui" not in rules  # no firewall opens 8081
    assert "flink-swarm:worldOpenAdmin" not in rules["swarm-management"]
    assert "flink-swarm:worldOpenAdmin" in opened.get("fw-ssh").inputs["description"]
    assert "worldOpenAdmin" not in program().get("fw-ssh").inputs["description"]


# --- the key files ----------------------------------------------------------------------------------

def test_key_files_are_written_whole_and_never_through_a_link(tmp_path):
    folder = tmp_path / "keys"
    target = tmp_path / "elsewhere"
    folder.mkdir(mode=0o700)
    target.write_text("keep me\n")
    (folder / "flink-swarm-dev").symlink_to(target)
    sshkey.write_private(folder / "flink-swarm-dev", "secret")
    assert target.read_text() == "keep me\n"  # the link was replaced, not followed
    path = folder / "flink-swarm-dev"
    assert not path.is_symlink() and path.read_text() == "secret\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(folder)) == ["flink-swarm-dev"]  # no temporary file left behind


@pytest.mark.parametrize("problem", ["a link", "writable by others"])
def test_key_files_refuse_a_folder_others_could_change(tmp_path, problem):
    folder = tmp_path / "keys"
    if problem == "a link":
        (tmp_path / "real").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "real")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    with pytest.raises(pulumi.RunError) as err:
        sshkey.write_private(folder / "flink-swarm-dev", "secret")
    assert "FLINK_SWARM_KEY_DIR" in str(err.value) and "Fix:" in str(err.value)
    assert stat.S_IMODE((tmp_path / ("real" if problem == "a link" else "keys")).stat().st_mode) in (0o700, 0o777)


def test_key_files_refuse_a_folder_of_another_user(tmp_path, monkeypatch):
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(folder).st_uid + 1)
    with pytest.raises(pulumi.RunError, match="belongs to another user"):
        sshkey.write_private(folder / "flink-swarm-dev", "secret")


LOCAL = "command:local:Command"


def guard_runs(guard, env: dict) -> "subprocess.CompletedProcess":
    """The guard's delete, run as pulumi-command runs a local command (`/bin/sh -c`), with `env`."""
    return subprocess.run(["/bin/sh", "-c", guard.inputs["delete"]], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True)


def test_a_destroy_without_the_key_files_stops_first_naming_them_and_the_fix(program, tmp_path):
    run = program()
    guard = run.get("ssh-key-files")
    assert guard.type == LOCAL and not guard.inputs.get("create") and guard.inputs["addPreviousOutputInEnv"] is False
    for res in run.of_type("docker:index/service:Service") + run.of_type("docker:index/network:Network"):
        assert run.depends_on(guard, res), res.name  # so a destroy deletes the guard before them
    folder = tmp_path / "elsewhere"
    missing = guard_runs(guard, {"FLINK_SWARM_KEY_DIR": str(folder)})
    assert missing.returncode == 1 and f"{folder}/flink-swarm-test.known_hosts is not on this machine" in missing.stderr
    assert "pulumi destroy --run-program" in missing.stderr and missing.stdout == ""
    folder.mkdir()
    (folder / "flink-swarm-test.known_hosts").write_text("")
    assert "flink-swarm-test is not on this machine" in guard_runs(guard, {"FLINK_SWARM_KEY_DIR": str(folder)}).stderr
    (folder / "flink-swarm-test").write_text("a key")
    assert guard_runs(guard, {"FLINK_SWARM_KEY_DIR": str(folder)}).returncode == 0
    home = tmp_path / "home"  # without the variable: the program's default folder, ~/.ssh/flink-swarm
    assert "home/.ssh/flink-swarm/flink-swarm-test.known_hosts" in guard_runs(guard, {"HOME": str(home)}).stderr


def test_the_destroy_guard_of_the_ssh_agent_mode_needs_no_private_key_file(program, tmp_path):
    run = program(sshPublicKey=PUBLIC)
    guard = run.get("ssh-key-files")
    (tmp_path / "flink-swarm-test.known_hosts").write_text("")
    assert guard_runs(guard, {"FLINK_SWARM_KEY_DIR": str(tmp_path)}).returncode == 0
