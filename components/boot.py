"""A cloud node's first boot: the cloud-init user data every Azure and GCP machine boots with.

It gives the host the ed25519 host key the program made for it (cc_ssh `ssh_keys`), so the first
SSH connection already checks it, and a head start: `write_files` puts docker-install.sh and
first-boot.sh under /var/lib/flink-swarm and `runcmd` runs first-boot.sh in cloud-init's final
stage, which installs Docker as the `-docker` step would and fetches the Flink image and the Weave
plugin in the background while the machines boot and the swarm forms. The SSH steps stay
authoritative: `-docker` waits for cloud-init (`cloud-init status --wait`), `-pull` and `-weave` for
the boot's fetches (locks under /run/flink-swarm), then each runs its own script, which only checks
where the boot did the work. A static host gets no user data: its steps do everything.
"""
from __future__ import annotations

import functools

import pulumi
import pulumi_tls as tls
import yaml

from . import hostargs
from .config import NodeSpec, Settings
from .steps import script_text

BOOT_DIR = "/var/lib/flink-swarm"  # where the boot scripts are written on the node
BOOT_SCRIPTS = ("docker-install", "first-boot")  # written to BOOT_DIR; first-boot.sh runs docker-install.sh


def first_boot(spec: NodeSpec, settings: Settings, host_key: tls.PrivateKey) -> pulumi.Output[str]:
    """The node's cloud-init user data (a secret: it holds the host's private key)."""
    # A list is run as it is, no shell (cc_runcmd); its output goes to /var/log/cloud-init-output.log.
    command = ["bash", f"{BOOT_DIR}/first-boot.sh", *hostargs.first_boot(spec, settings)]
    return pulumi.Output.secret(pulumi.Output.all(host_key.private_key_openssh, host_key.public_key_openssh).apply(
        lambda keys: "#cloud-config\n" + yaml.safe_dump(
            {"ssh_keys": {"ed25519_private": keys[0], "ed25519_public": keys[1].strip()}}, sort_keys=False)
        + _boot_files(tuple((name, script_text(name)) for name in BOOT_SCRIPTS))
        + yaml.safe_dump({"runcmd": [command]}, sort_keys=False)))


@functools.cache
def _boot_files(scripts: tuple[tuple[str, str], ...]) -> str:
    """The `write_files` entry of the user data, the same on every node: dumped once per script text
    (every node's dump took PyYAML 5 s at 200 nodes)."""
    return yaml.safe_dump({"write_files": [
        {"path": f"{BOOT_DIR}/{name}.sh", "permissions": "0755", "content": text} for name, text in scripts]},
        sort_keys=False)
