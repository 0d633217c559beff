"""The README's own commands through the real `pulumi` CLI (tests/cli.py), with stand-in providers
that reach nothing: "First `pulumi up`", docs/configuration.md's `--path` and `--secret` settings and
"The policy pack"'s preview, on the dev stack (Pulumi.dev.yaml, the blog topology)."""
import json
import re
import subprocess
import time

import pytest

from tests.cli import Project, ops, toolchain
from tests.harness import BASE_CONFIG, ROOT, run_program

ADMIN = "198.51.100.7/32"
BLOG_NODES = ("azure-swarm-manager", "azure-flink-jobmanager", "azure-swarm-worker-1", "azure-swarm-worker-2",
              "google-cloud-worker-1")


@pytest.fixture
def dev(tmp_path):
    """The dev stack as "First `pulumi up`" makes it (before its preview)."""
    project = Project(tmp_path)
    project.pulumi("stack", "init", "dev")  # reads Pulumi.dev.yaml
    project.pulumi("config", "set", "gcp:project", "test-project")
    project.pulumi("config", "set", "--path", "flink-swarm:adminCidrs[0]", ADMIN)
    return project


def test_pulumi_is_the_release_the_toolchain_pins():
    pinned = re.search(r"github.com/pulumi/pulumi/pkg/v3 (v[\d.]+)", (ROOT / "tests/toolchain/go.mod").read_text())
    done = subprocess.run([str(toolchain() / "pulumi"), "version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == pinned.group(1)


def test_first_pulumi_up_as_the_readme_says(dev):
    mocks = run_program({**BASE_CONFIG, "flink-swarm:adminCidrs": [ADMIN]})
    names = {"flink-swarm-dev", *(r.name for r in mocks.resources)}  # the stack and what the mocks register
    count = 1 + len(mocks.resources)  # (a component and its resource may share a name)
    preview = dev.preview()  # `pulumi preview --json`
    assert ops(preview) == {"create": names} and preview["changeSummary"] == {"create": count}

    up = dev.run("up")
    assert up.changed() == dict.fromkeys(names, "create")
    nodes = dev.outputs("nodes")
    assert sorted(n["name"] for n in nodes) == sorted(BLOG_NODES)
    ssh = dev.outputs("sshCommands")
    assert set(ssh) == set(BLOG_NODES) and all(" -p 22 ubuntu@" in c for c in ssh.values())
    hidden = dev.pulumi("stack", "output", "sshPrivateKey").stdout.strip()
    assert hidden == "[secret]"  # shown only with --show-secrets
    assert dev.outputs("sshPrivateKey").startswith("-----BEGIN OPENSSH PRIVATE KEY-----")

    again = dev.preview()
    assert set(ops(again)) == {"same"} and again["changeSummary"] == {"same": count}
    gone = dev.run("destroy")
    assert gone.names("delete") == names and dev.resources() == {}


def test_the_config_references_settings_reach_the_services_and_secrets_stay_secret(dev):
    dev.pulumi("config", "set", "--path", 'flink-swarm:flink.settings["state.backend.type"]', "rocksdb")
    dev.pulumi("config", "set", "--secret", "flink-swarm:weavePassword", "correct-horse-battery-staple")
    dev.run("up")
    state = dev.resources()
    jobmanager = state["jobmanager"]["inputs"]["taskSpec"]["containerSpec"]["env"]["FLINK_PROPERTIES"]
    assert "state.backend.type: rocksdb" in jobmanager.splitlines()
    weave = state["azure-swarm-worker-1-weave"]["inputs"]["stdin"]
    assert "correct-horse-battery-staple" in weave
    stored = dev.pulumi("stack", "export").stdout  # the state as it is kept: secrets encrypted
    assert "correct-horse-battery-staple" not in stored
    kept = next(r for r in json.loads(stored)["deployment"]["resources"] if r["urn"].endswith("::azure-swarm-worker-1-weave"))
    assert "ciphertext" in kept["inputs"]["stdin"]


def violations(plan) -> set[tuple[str, str]]:
    """(policy, level) of each violation reported; not the notes that a policy could not run on values a
    preview does not know yet (docs/security.md "The policy pack")."""
    return {(e["policyName"], e["enforcementLevel"]) for e in plan.policy if "can't run policy" not in e["message"]}


def test_the_policy_pack_passes_the_dev_stack_and_warns_of_what_it_allows(dev):
    first = dev.run("preview", "--policy-pack", "policy")
    assert violations(first) == set() and first.policy  # notes on unknown addresses, nothing else
    up = dev.run("up", "--policy-pack", "policy")  # every value known: each policy runs for real
    assert up.policy == [] and up.error == ""

    dev.pulumi("config", "set", "--path", "flink-swarm:network.driver", "overlay")
    dev.pulumi("config", "set", "--path", "flink-swarm:network.encrypted", "false")
    warned = dev.run("preview", "--policy-pack", "policy")
    assert violations(warned) == {("overlay-network-encrypted", "advisory")}

    exception = dev.dir / "exception.json"
    exception.write_text('{"overlay-network-encrypted": "disabled"}')
    excepted = dev.run("preview", "--policy-pack", "policy", "--policy-pack-config", str(exception))
    assert violations(excepted) == set() and excepted.error == ""

    exception.write_text('{"overlay-network-encrypted": "mandatory"}')  # a team that requires it
    refused = dev.run("up", "--policy-pack", "policy", "--policy-pack-config", str(exception), check=False)
    assert violations(refused) == {("overlay-network-encrypted", "mandatory")} and refused.error
    assert dev.resources()["flink-net"]["inputs"]["driver"].startswith("weaveworks/")  # nothing changed


def test_tools_dev_stack_makes_a_researchers_stack_that_deploys_and_goes(tmp_path):
    """docs/team.md "Your own stack": `tools/dev-stack`, `pulumi preview --policy-pack policy`, `pulumi up`,
    `tools/dev-stack destroy`, with the researcher's key in an ssh-agent (the stack's ssh-agent mode)."""
    project = Project(tmp_path)
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@lab", "-f", str(key)], check=True)
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(tmp_path / "agent.sock")], stdout=subprocess.DEVNULL)
    try:
        env = {**project.env, "SSH_AUTH_SOCK": str(tmp_path / "agent.sock"), "USER": "Alice.Smith"}
        for _ in range(50):  # the agent's socket appears once it listens
            if subprocess.run(["ssh-add", str(key)], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        project.env = env
        made = subprocess.run(["tools/dev-stack", "--key", str(key), "--ip", "198.51.100.9",
                               "--gcp-project", "alice-lab"], cwd=project.dir, env=env, capture_output=True, text=True)
        ready = re.search(r"(dev-alice-smit-[0-9a-f]{4}) is ready", made.stderr + made.stdout)  # <user>-<hash>
        assert made.returncode == 0 and ready, made.stderr
        assert violations(project.run("preview", "--policy-pack", "policy")) == set()
        project.run("up")
        outputs = project.outputs()
        assert outputs["sshPublicKey"] == " ".join(key.with_suffix(".pub").read_text().split()[:2])
        assert not outputs.get("sshPrivateKey")  # the private key stays in the agent, never in the state
        assert outputs["sshIdentity"] == {"stack": ready[1], "agent": True}  # flink-swarm's ssh offers the agent's keys
        keys = [n for n, r in project.resources().items() if r["type"] == "tls:index/privateKey:PrivateKey"]
        assert keys and all(n.endswith("-host-key") for n in keys)  # no login key pair generated
        gone = subprocess.run(["tools/dev-stack", "destroy"], cwd=project.dir, env=env, capture_output=True, text=True)
        assert gone.returncode == 0, gone.stderr
        stacks = json.loads(project.pulumi("stack", "ls", "--json").stdout)
        assert [s["name"] for s in stacks] == []
    finally:
        agent.terminate()
        agent.wait()
