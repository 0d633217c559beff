"""A stack of the program whose Azure and Google Cloud VMs are blank test hosts (the stand-ins' mode
`vms`), through the real `pulumi` CLI: the day-two and managers suites' clusters."""
import json
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.cli import Plan, Project
from components import ports
from tests.e2e import hosts
from tests.e2e.proc import PLANS, TIMINGS

SECRET_KEY = "flink-swarm:sshPrivateKey"


class VmStack:
    """A stack of the program whose VMs are blank test hosts (the stand-ins' mode `vms`), with a fresh
    key: `pulumi stack init`, the settings every run shares set once with `pulumi config` (the private
    key as a secret); `up()` writes the topology and runs Project.up with the rest (it sets what changed),
    timed."""

    def __init__(self, folder: Path, suite: str, vm_image: str, ssh: dict):
        self.suite, self.key_file = suite, hosts.new_key()
        self.project = Project(folder, mode="vms")
        self.project.env.update(FLINK_SWARM_VM_IMAGE=vm_image, FLINK_SWARM_VM_KEY=str(self.key_file))
        self.project.pulumi("stack", "init", f"e2e-{suite.replace(' ', '-')}")
        self.project.set_config({
            "azure-native:location": "westeurope", "gcp:project": "lab", "gcp:zone": "europe-west1-b",
            "flink-swarm:adminCidrs": [hosts.SUBNET],
            "flink-swarm:sshPublicKey": self.key_file.with_suffix(".pub").read_text().strip(),
            "flink-swarm:dockerInstall": "docker.io",
            "flink-swarm:network": {"driver": "overlay", "encrypted": False}, "flink-swarm:ssh": ssh})
        self.project.set_config({SECRET_KEY: self.key_file.read_text()}, secret=True)
        self.topology = folder / "topology.yaml"
        self.addresses: dict[str, str] = {}  # node -> its static IP's address (an IP's address never changes)
        self.last_plan = Plan()

    def up(self, scenario: str, nodes: list[dict], replace=(), flink=None, check: bool = True, **settings) -> Plan:
        self.topology.write_text(yaml.safe_dump({"nodes": nodes}))
        config = {"flink-swarm:topology": str(self.topology),
                  "flink-swarm:flink": {"image": hosts.FLINK_IMAGE, "taskSlots": 2, "jobmanagerMemory": "1024m",
                                        "taskmanagerMemory": "1280m", **(flink or {})},
                  # monitoring is proven on the static hosts (test_static.py); here only Flink's day two
                  "flink-swarm:monitoring": {"enabled": False},
                  **{f"flink-swarm:{k}": v for k, v in settings.items()}}
        return self._run(scenario, lambda: self.project.up(config, replace, check=check))

    def destroy(self, scenario: str, check: bool = True) -> Plan:
        return self._run(scenario, lambda: self.project.run("destroy", check=check))

    def _run(self, scenario: str, run: Callable[[], Plan]) -> Plan:
        title = f"{self.suite}: {scenario}"
        started = time.monotonic()
        try:
            self.last_plan = plan = run()
        finally:
            TIMINGS[title] = time.monotonic() - started
        counts = ", ".join(f"{op} {n}" for op, n in plan.counts().items() if n)
        failure = next((line.strip() for line in plan.error.splitlines() if "error:" in line), plan.error.strip())
        PLANS.append(f"=== {title}: {counts}" + (f" ({failure})" if plan.error else ""))
        if plan.counts()["same"]:  # a later up: what changed
            PLANS.extend(f"  {op} {name}" for name, op in sorted(plan.changed().items()))
        return plan

    @property
    def rest(self) -> str:
        """The jobmanager's REST endpoint: the VMs' addresses are the test machine's neighbours, with no
        cloud firewall between (the CLI's SSH tunnel is tested in test_static and test_local)."""
        row = next(r for r in self.project.outputs()["nodes"] if r["role"] == "jobmanager")
        return f"http://{row['publicIp']}:{ports.FLINK_UI}"

    def address(self, node: str) -> str:
        if node not in self.addresses:
            ip = self.project.resources()[f"{node}-ip"]["outputs"]
            self.addresses[node] = ip.get("ipAddress") or ip["address"]  # Azure's, GCP's
        return self.addresses[node]

    @staticmethod
    def container(node: str) -> str:
        """The test host standing in for the node's VM (the name hosts.py Vms.start_vm gives it)."""
        return f"{hosts.NETWORK}-{node}-vm"

    def host(self, node: str) -> hosts.Host:
        """The node's VM, reached with the stack's key."""
        return hosts.Host(self.container(node), self.address(node), "ubuntu", 22, self.key_file.read_text(),
                          self.key_file)

    def ssh(self, node: str, command: str) -> str:
        rc, out, err = hosts.run_ssh(self.host(node), command)
        assert rc == 0, f"{node}: {command}: {err}"
        return out

    def swarm(self, on: str) -> dict[str, dict]:
        """hostname -> `docker node inspect`, read on the manager `on`."""
        ids = self.ssh(on, "docker node ls -q").split()
        return {n["Description"]["Hostname"]: n for n in json.loads(self.ssh(on, "docker node inspect " + " ".join(ids)))}


def vm_containers() -> list[str]:
    """The test hosts standing in for VMs that Docker has, running or not (VmStack.container)."""
    names = hosts.run("docker", "ps", "-a", "--filter", f"label={hosts.LABEL}", "--format", "{{.Names}}").split()
    return sorted(n for n in names if n.endswith("-vm"))
