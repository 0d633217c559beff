"""tools/dev-stack and its small topology: a researcher's own stack, checked without the Pulumi CLI."""
import hashlib
import shutil
import subprocess
import sys

import pytest
import yaml

from components.config.access import MAX_PREFIX
from components.config.checks import DNS_NAME
from tests.harness import ROOT

AZ_VM, GCP_VM = "azure-native:compute:VirtualMachine", "gcp:compute/instance:Instance"


def test_dev_small_topology(program):
    run = program(topology="config/topologies/dev-small.yaml")
    assert {(row["name"], row["cloud"], row["role"]) for row in run.outputs["nodes"]} == {
        ("azure-swarm-manager", "azure", "manager"), ("azure-flink-jobmanager", "azure", "jobmanager"),
        ("azure-swarm-worker-1", "azure", "worker"), ("google-cloud-worker-1", "gcp", "worker")}
    assert {vm.inputs["hardwareProfile"]["vmSize"] for vm in run.of_type(AZ_VM)} == {"Standard_B2s"}
    assert [vm.inputs["machineType"] for vm in run.of_type(GCP_VM)] == ["e2-medium"]


DEV_STACK = ROOT / "tools" / "dev-stack"


def dev_stack(*args, env=None, email=None, home=None):
    """Run tools/dev-stack with a minimal environment (no pulumi on PATH: --dry-run must not need it);
    `email`: the git email in the global git config of a home folder (`home`) made for it."""
    base = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "USER": "alice"}
    if email is not None:
        (home / ".gitconfig").write_text(f"[user]\n\temail = {email}\n")
        base["HOME"] = str(home)
    return subprocess.run([str(DEV_STACK), *args], env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=30)


def stack_name(user: str, prefix: str, email: str = "") -> str:
    """dev-<user cut to 10>-<4 hex digits of the whole user name and the git email>, as tools/dev-stack names it."""
    digest = hashlib.sha256(f"{user}\n{email}\n".encode()).hexdigest()
    return f"dev-{prefix}-{digest[:4]}"


def created_stack(result) -> str:
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if "namePrefix" in line).split()[-1]


def require(tool: str, package: str) -> None:
    """Fail, with the install command, when a tool a test needs is missing."""
    if not shutil.which(tool):
        pytest.fail(f"{tool} is not installed: apt-get install {package}")


def test_dev_stack_is_shellcheck_clean():
    require("shellcheck", "shellcheck")
    result = subprocess.run(["shellcheck", str(DEV_STACK)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_dev_stack_help():
    result = dev_stack("--help")
    assert result.returncode == 0 and "destroy" in result.stdout and "--dry-run" in result.stdout


def test_dev_stack_dry_run_sets_up_the_researchers_stack(tmp_path):
    require("ssh-keygen", "openssh-client")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@lab", "-f", str(key)], check=True)
    result = dev_stack("--dry-run", "--key", str(key), "--gcp-project", "alice-lab",
                       env={"USER": "Alice.Smith", "DEV_STACK_IP": "203.0.113.9"})
    assert result.returncode == 0, result.stderr
    name = stack_name("Alice.Smith", "alice-smit")  # no git email here
    cfg = f"+ pulumi config set --stack {name} "
    public_key = (tmp_path / "id_ed25519.pub").read_text().strip()
    assert result.stdout.splitlines()[:-1] == [
        f"+ cp Pulumi.dev.yaml Pulumi.{name}.yaml",
        f"+ pulumi stack select --create {name}",
        cfg + f"flink-swarm:namePrefix {name}",
        cfg + "flink-swarm:topology config/topologies/dev-small.yaml",
        cfg + "--path flink-swarm:adminCidrs[0] 203.0.113.9/32",
        cfg + "--path flink-swarm:flink.taskmanagerMemory 2048m",
        cfg + "gcp:project alice-lab",
        cfg + f"flink-swarm:sshPublicKey {' '.join(public_key.split()[:2])}",
        f"+ pulumi config rm --stack {name} flink-swarm:sshPrivateKey"]  # the ssh-agent holds it
    assert "PRIVATE KEY" not in result.stdout + result.stderr and "sshPrivateKey <" not in result.stdout
    assert "is not in your ssh-agent: run `ssh-add" in result.stderr
    assert not (ROOT / f"Pulumi.{name}.yaml").exists()
    assert result.stdout.splitlines()[-1].endswith("pulumi up --parallel 16")  # dev-small: 4 nodes


def test_dev_stack_without_a_usable_key_lets_the_stack_generate_one(tmp_path):
    result = dev_stack("--dry-run", "--ip", "198.51.100.0/24", "--key", str(tmp_path / "missing"))
    assert result.returncode == 0
    assert "adminCidrs[0] 198.51.100.0/24" in result.stdout and "sshPublicKey" not in result.stdout
    assert "generates its own key pair" in result.stderr


def test_dev_stack_name_prefix_is_dns_safe_and_short():
    result = dev_stack("--dry-run", "--ip", "203.0.113.9", "--user", "Dr_Jane.Very-Long-Surname-")
    prefix = created_stack(result)
    assert prefix == stack_name("Dr_Jane.Very-Long-Surname-", "dr-jane-ve")
    assert DNS_NAME.match(prefix) and len(prefix) == MAX_PREFIX


def test_two_researchers_never_share_a_stack(tmp_path):
    """The same login on two machines (other git emails), or long names that start alike, get stacks of
    their own; the same researcher gets the same stack every time."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alice = created_stack(dev_stack("--dry-run", "--ip", "203.0.113.9", email="alice@lab-a.example", home=tmp_path / "a"))
    other = created_stack(dev_stack("--dry-run", "--ip", "203.0.113.9", email="alice@lab-b.example", home=tmp_path / "b"))
    assert alice == stack_name("alice", "alice", "alice@lab-a.example") != other
    assert created_stack(dev_stack("--dry-run", "--ip", "203.0.113.9", email="alice@lab-a.example",
                                   home=tmp_path / "a")) == alice
    long = {created_stack(dev_stack("--dry-run", "--ip", "203.0.113.9", "--user", user))
            for user in ("maximilian.schmidt", "maximilian.schneider", "maximilianschmidt")}
    assert len(long) == 3 and all(len(name) <= MAX_PREFIX and DNS_NAME.match(name) for name in long)


def test_an_explicit_stack_name(tmp_path):
    assert created_stack(dev_stack("--dry-run", "--ip", "203.0.113.9", "--stack", "dev-alice")) == "dev-alice"
    for bad in ("Dev-Alice", "dev-a-name-that-is-too-long", "dev-", "1dev"):
        result = dev_stack("--dry-run", "--ip", "203.0.113.9", "--stack", bad)
        assert result.returncode == 1 and "not a DNS-safe stack name of at most 19 characters" in result.stderr


def test_dev_stack_refuses_a_bad_address():
    result = dev_stack("--dry-run", "--ip", "203.0.113")
    assert result.returncode == 1 and "not an IPv4 address" in result.stderr


def test_dev_stack_destroy_dry_run():
    result = dev_stack("destroy", "--user", "bob", "--dry-run", env={"FLINK_SWARM_KEY_DIR": "/keys"})
    assert result.returncode == 0
    bob = stack_name("bob", "bob")
    assert result.stdout.splitlines() == [f"+ pulumi destroy --stack {bob} --run-program --yes --parallel 16",
                                          f"+ pulumi stack rm --yes {bob}",
                                          f"+ rm -f /keys/flink-swarm-{bob}"]


PARALLELISM = ROOT / "tools" / "parallelism"


@pytest.mark.parametrize("workers,expected", [(1, 16), (3, 20), (48, 200), (198, 256)])
def test_parallelism_follows_the_cluster_size(tmp_path, workers, expected):
    """4 operations a node under way at once, at least 16, at most 256 (Pulumi's default is 4 x CPUs)."""
    nodes = [{"name": "m", "cloud": "azure", "role": "manager"}, {"name": "j", "cloud": "azure", "role": "jobmanager"},
             {"name": "w", "cloud": "gcp", "role": "worker", "count": workers}]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    done = subprocess.run([sys.executable, str(PARALLELISM), "--topology", str(path)], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, str(expected)), done.stderr


def test_parallelism_reads_the_stacks_topology_and_the_workflows_use_it():
    done = subprocess.run([sys.executable, str(PARALLELISM), "dev"], capture_output=True, text=True)
    assert done.stdout.strip() == "20"  # Pulumi.dev.yaml names the blog topology: 5 nodes
    for workflow in ("deploy.yml", "pull-request.yml"):
        doc = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
        job = doc["jobs"]["up" if workflow == "deploy.yml" else "preview"]
        size = next(s for s in job["steps"] if s.get("id") == "size")
        assert "tools/parallelism ${{ matrix.stack }}" in size["run"]
        pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions"))
        assert pulumi["with"]["parallel"] == "${{ steps.size.outputs.parallel }}"
