"""tools/dev-stack and its small topology: a researcher's own stack, checked without the Pulumi CLI."""
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


def dev_stack(*args, env=None):
    """Run tools/dev-stack with a minimal environment (no pulumi on PATH: --dry-run must not need it)."""
    base = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "USER": "alice"}
    return subprocess.run([str(DEV_STACK), *args], env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=30)


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
    cfg = "+ pulumi config set --stack dev-alice-smith "
    public_key = (tmp_path / "id_ed25519.pub").read_text().strip()
    assert result.stdout.splitlines()[:-1] == [
        "+ cp Pulumi.dev.yaml Pulumi.dev-alice-smith.yaml",
        "+ pulumi stack select --create dev-alice-smith",
        cfg + "flink-swarm:namePrefix dev-alice-smith",
        cfg + "flink-swarm:topology config/topologies/dev-small.yaml",
        cfg + "--path flink-swarm:adminCidrs[0] 203.0.113.9/32",
        cfg + "--path flink-swarm:flink.taskmanagerMemory 2048m",
        cfg + "gcp:project alice-lab",
        cfg + f"flink-swarm:sshPublicKey {' '.join(public_key.split()[:2])}",
        "+ pulumi config rm --stack dev-alice-smith flink-swarm:sshPrivateKey"]  # the ssh-agent holds it
    assert "PRIVATE KEY" not in result.stdout + result.stderr and "sshPrivateKey <" not in result.stdout
    assert "is not in your ssh-agent: run `ssh-add" in result.stderr
    assert not (ROOT / "Pulumi.dev-alice-smith.yaml").exists()
    assert result.stdout.splitlines()[-1].endswith("pulumi up --parallel 16")  # dev-small: 4 nodes


def test_dev_stack_without_a_usable_key_lets_the_stack_generate_one(tmp_path):
    result = dev_stack("--dry-run", "--ip", "198.51.100.0/24", "--key", str(tmp_path / "missing"))
    assert result.returncode == 0
    assert "adminCidrs[0] 198.51.100.0/24" in result.stdout and "sshPublicKey" not in result.stdout
    assert "generates its own key pair" in result.stderr


def test_dev_stack_name_prefix_is_dns_safe_and_short():
    result = dev_stack("--dry-run", "--ip", "203.0.113.9", "--user", "Dr_Jane.Very-Long-Surname-")
    prefix = next(line for line in result.stdout.splitlines() if "namePrefix" in line).split()[-1]
    assert prefix == "dev-dr-jane-very-lo" and DNS_NAME.match(prefix) and len(prefix) <= MAX_PREFIX


def test_dev_stack_refuses_a_bad_address():
    result = dev_stack("--dry-run", "--ip", "203.0.113")
    assert result.returncode == 1 and "not an IPv4 address" in result.stderr


def test_dev_stack_destroy_dry_run():
    result = dev_stack("destroy", "--user", "bob", "--dry-run", env={"FLINK_SWARM_KEY_DIR": "/keys"})
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["+ pulumi destroy --stack dev-bob --run-program --yes --parallel 16",
                                          "+ pulumi stack rm --yes dev-bob",
                                          "+ rm -f /keys/flink-swarm-dev-bob"]


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
