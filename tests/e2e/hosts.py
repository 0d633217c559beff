"""Local, cloud-like test hosts for the end-to-end tests.

Each host is a container that behaves like a small cloud VM: sshd with key-only login
for `ubuntu` (passwordless sudo, group docker) and its own Docker Engine, so the host
scripts can run `docker swarm init/join` between hosts and overlay networks carry traffic
between them. The hosts sit on the Docker network `fs-e2e` (10.77.0.0/24) at fixed
addresses, next to a registry (10.77.0.2:5000) that serves the Flink image: hosts pull
it as a cloud VM would pull from a registry. Images come from `build.py`.

    hosts = start_hosts(3)           # builds what is missing, then starts registry + hosts
    rc, out, err = run_ssh(hosts[0], "docker info")
    teardown()                       # removes containers, volumes, network
    with lab() as images: ...        # start_lab(), then teardown() (the hosts are the test's)

Blank hosts without Docker stand in for cloud VMs: `Vms(image, key_file)` starts one per VM the
cloud stand-ins create (tests/plugins/providers/cloud.py; in the `pulumi` runs, the plugins' mode `vms`:
tests/plugins/standins.py), at the address of the VM's static IP.
"""

import base64
import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from components import local

from . import ssh
from .build import CACHE, FLINK_VERSION, LABEL, SPARK_VERSION, build_images, ensure_dockerd, python_wheels
from .proc import phase, run, tail, wait

NETWORK = "fs-e2e"
SUBNET = "10.77.0.0/24"
REGISTRY_IP = "10.77.0.2"  # hosts are 10.77.0.11, .12, ...
REGISTRY = f"{REGISTRY_IP}:5000"
GATEWAY = "10.77.0.1"  # this machine on the test network
LOCAL_REGISTRY = f"{GATEWAY}:5001"  # the registry again, on this machine: every Docker network reaches it
MIRROR_IP = "10.77.0.3"  # apt and pip packages for the Flink image (flink.python), from start_mirror()

FLINK_IMAGE = f"{REGISTRY}/flink-swarm-e2e/flink:{FLINK_VERSION}"  # as the hosts see it
FLINK_IMAGE_RETAGGED = f"{FLINK_IMAGE}-b"  # the same image under another tag (a tag change on day two)
# monitoring's images, built from Debian's packages (images/prometheus, images/node-exporter)
PROMETHEUS_IMAGE = f"{REGISTRY}/flink-swarm-e2e/prometheus:debian"
NODE_EXPORTER_IMAGE = f"{REGISTRY}/flink-swarm-e2e/node-exporter:debian"
# a team's Flink image: the Flink one with a SQL connector jar (images/flink-sql); Spark's (images/spark)
FLINK_SQL_IMAGE = f"{REGISTRY}/flink-swarm-e2e/flink-sql:{FLINK_VERSION}"
SPARK_IMAGE = f"{REGISTRY}/flink-swarm-e2e/spark:{SPARK_VERSION}"

# What the WordCount job (jobs/WordCount.java) must count; see flink_rest.word_counts.
WORDCOUNT_COUNTS = {
    "to": 3, "be": 3, "or": 1, "not": 1, "that": 1, "is": 2, "the": 2, "question": 1,
    "flink": 1, "run": 1, "on": 1, "swarm": 1,
}

_lock = None  # open lock file, held from start_hosts() to teardown(): one set of hosts at a time

# What a test host needs beyond Docker's default capabilities to run its own Docker Engine: what the
# program gives its `cloud: local` nodes, which run the same image and entrypoint (components/local.py).
HOST_PRIVILEGES = [*(arg for cap in local.CAPABILITIES for arg in ("--cap-add", cap)),
                   *(arg for opt in local.SECURITY_OPTS for arg in ("--security-opt", opt)),
                   *(arg for rule in local.DEVICE_RULES for arg in ("--device-cgroup-rule", rule))]
IMAGES: dict[str, str] = {}  # what start_lab built: "local-base", "node", "host", "vm", "flink", ... -> image tag


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    user: str
    port: int
    private_key: str  # OpenSSH private key text
    key_file: Path  # the same key on disk (0600), for `ssh -i`
    host_key: str = ""  # its SSH host key (public, one line), as a static node's topology gives it


def run_ssh(host: Host, cmd: str, stdin: str | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run `cmd` on `host` with the system ssh client; returns (rc, stdout, stderr)."""
    proc = subprocess.run(ssh.argv(host.user, host.ip, host.port, host.key_file, cmd),
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def public_key_of(private_key: str) -> str:
    """The OpenSSH public key line of an OpenSSH/PEM private key."""
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp, "key")
        key_file.write_text(private_key)
        key_file.chmod(0o600)
        return run("ssh-keygen", "-y", "-f", str(key_file))


def _host_logs(name: str) -> str:
    """Last lines of a host container's own log (sshd) and of its inner dockerd."""
    own = subprocess.run(["docker", "logs", "--tail", "20", name], capture_output=True, text=True)
    inner = subprocess.run(["docker", "exec", name, "tail", "-n", "20", "/var/log/dockerd.log"],
                           capture_output=True, text=True)
    return (f"--- docker logs {name}:\n{tail(own.stdout + own.stderr)}\n"
            f"--- {name}:/var/log/dockerd.log:\n{tail(inner.stdout + inner.stderr)}")


def _wait_host(host: Host, timeout: float = 180) -> None:
    """Wait until the host answers SSH and its inner dockerd answers `docker info`."""
    def ready() -> bool:
        if run("docker", "inspect", "-f", "{{.State.Running}}", host.name) != "true":
            raise RuntimeError(f"host {host.name} container stopped\n{_host_logs(host.name)}")
        return run_ssh(host, "docker info --format '{{.ServerVersion}}'", timeout=30)[0] == 0
    wait(f"host {host.name} ({host.ip}): ssh + docker info", ready, timeout,
          lambda: _host_logs(host.name))


def _start_registry(images: dict[str, str]) -> None:
    """Run the registry at REGISTRY and push the Flink image to it as FLINK_IMAGE (and its second tag),
    monitoring's images, the team's SQL image and Spark's.

    Its storage is kept in CACHE, so pushing an unchanged image again is quick.
    """
    name = f"{NETWORK}-registry"
    run("docker", "run", "-d", "--name", name, "--label", LABEL,
         "--network", NETWORK, "--ip", REGISTRY_IP, "--publish", "127.0.0.1::5000",
         "--volume", f"{CACHE}/registry:/var/lib/docker-registry", images["registry"])
    port = run("docker", "port", name, "5000/tcp").splitlines()[0].rsplit(":", 1)[1]
    wait("registry", lambda: _registry_answers(f"127.0.0.1:{port}"), 30,
         lambda: run("docker", "logs", name, check=False))
    # The outer engine pushes via loopback (insecure by default); hosts pull via REGISTRY.
    for built, image in (("flink", FLINK_IMAGE), ("flink", FLINK_IMAGE_RETAGGED), ("prometheus", PROMETHEUS_IMAGE),
                         ("node-exporter", NODE_EXPORTER_IMAGE), ("flink-sql", FLINK_SQL_IMAGE), ("spark", SPARK_IMAGE)):
        local = f"127.0.0.1:{port}/{image.split('/', 1)[1]}"
        run("docker", "tag", images[built], local)
        run("docker", "push", local)
        run("docker", "rmi", local)


def start_local_registry() -> None:
    """Serve the registry's storage at LOCAL_REGISTRY too, on this machine's own address on the test
    network: what runs on another Docker network (the program's `local` nodes) reaches it there, as a
    host's own address (the Engine isolates its bridge networks from each other, not from the host)."""
    run("docker", "run", "-d", "--name", f"{NETWORK}-registry-host", "--label", LABEL, "--network", "host",
        "--env", f"REGISTRY_HTTP_ADDR={LOCAL_REGISTRY}",
        "--volume", f"{CACHE}/registry:/var/lib/docker-registry:ro", IMAGES["registry"])
    wait("registry on this machine", lambda: _registry_answers(LOCAL_REGISTRY), 30,
         lambda: run("docker", "logs", f"{NETWORK}-registry-host", check=False))


def _registry_answers(address: str) -> bool:
    """Whether the registry at host:port answers its API's version check."""
    try:
        return urllib.request.urlopen(f"http://{address}/v2/", timeout=2).status == 200
    except OSError:
        return False


def start_mirror() -> None:
    """Serve Python's Debian packages and PyFlink's wheels at MIRROR_IP (images/mirror), which the
    Flink image's apt and pip use; the wheels are built first if they are not in CACHE."""
    wheels = python_wheels()
    name = f"{NETWORK}-mirror"
    run("docker", "run", "-d", "--name", name, "--label", LABEL, "--network", NETWORK, "--ip", MIRROR_IP,
        "--volume", f"{wheels}:/srv/wheels:ro", IMAGES["mirror"])

    def answers() -> bool:
        return run("docker", "exec", name, "python3", "-c", "import urllib.request as u; "
                   "print(u.urlopen('http://127.0.0.1/apt/Packages', timeout=2).status)", check=False) == "200"
    wait("mirror", answers, 30, lambda: run("docker", "logs", name, check=False))


def _nameservers() -> list[str]:
    """This machine's DNS servers, for the hosts' inner dockerd (it cannot use 127.0.0.11)."""
    return [line.split()[1] for line in Path("/etc/resolv.conf").read_text().splitlines()
            if line.startswith("nameserver") and not line.split()[1].startswith("127.")]


def cloud_init_final(doc: dict) -> str:
    """The shell script cloud-init's final stage amounts to for this user data: its `write_files`
    written (cc_write_files), then its `runcmd` (cc_runcmd: one line a command, a list shell-quoted,
    run by /bin/sh; the script's status is the stage's). What the stand-in does not emulate fails."""
    unknown = set(doc) - {"ssh_keys", "write_files", "runcmd"}
    assert not unknown, f"the test VMs do not emulate cloud-init's {sorted(unknown)}"
    lines = []
    for entry in doc.get("write_files", []):
        assert set(entry) <= {"path", "content", "permissions"}, f"write_files: {sorted(entry)} not emulated"
        content = base64.b64encode(entry["content"].encode()).decode()
        lines.append(f"mkdir -p {shlex.quote(os.path.dirname(entry['path']))} && printf %s {content} | base64 -d >"
                     f"{shlex.quote(entry['path'])} && chmod {entry.get('permissions', '0644')} "
                     f"{shlex.quote(entry['path'])} || exit 1")
    for command in doc.get("runcmd", []):
        lines.append(shlex.join(command) if isinstance(command, list) else command)
    return "".join(f"{line}\n" for line in lines)


def _run_host(host: Host, image: str, public_key: str, hostname: str = "", host_key: str = "",
              final_stage: str = "") -> None:
    """Start the host's container; its boot reads what cloud-init would from an env file (0600, removed)."""
    run("docker", "volume", "create", "--label", LABEL, host.name)
    dockerd_config = json.dumps({"insecure-registries": [REGISTRY], "dns": _nameservers()})
    with tempfile.NamedTemporaryFile("w", prefix=f"{NETWORK}-env-") as env_file:  # 0600, never on argv
        env_file.write(f"SSH_AUTHORIZED_KEY={public_key}\nDOCKERD_CONFIG={dockerd_config}\n")
        if host_key:  # an env file holds a variable a line: the key's lines joined by a literal \n
            escaped = host_key.strip().replace("\n", "\\n")
            env_file.write(f"SSH_HOST_ED25519_KEY={escaped}\n")
        if final_stage:
            env_file.write(f"CLOUD_INIT_FINAL={base64.b64encode(final_stage.encode()).decode()}\n")
        env_file.flush()
        _docker_run_host(host, image, hostname, env_file.name)


def _docker_run_host(host: Host, image: str, hostname: str, env_file: str) -> None:
    run("docker", "run", "-d", "--name", host.name, "--hostname", hostname or host.name, "--label", LABEL,
         "--network", NETWORK, "--ip", host.ip, "--volume", f"{host.name}:/var/lib/docker",
         *HOST_PRIVILEGES,
         "--env-file", env_file, image)


def _acquire_lock() -> None:
    """Wait until no other process (another test run on this machine) uses the hosts."""
    global _lock
    if _lock is None:
        CACHE.mkdir(parents=True, exist_ok=True)
        _lock = open(CACHE / "hosts.lock", "w")
        try:
            fcntl.flock(_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[e2e] waiting for another run to release {_lock.name}", flush=True)
            fcntl.flock(_lock, fcntl.LOCK_EX)


def start_lab() -> dict[str, str]:
    """Build what is missing, then start the network and the registry; returns the images."""
    ensure_dockerd()
    images = build_images(MIRROR_IP, LOCAL_REGISTRY)
    _acquire_lock()
    _remove_all()  # leftovers of a crashed run
    run("docker", "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK)
    with phase("registry"):
        _start_registry(images)
    IMAGES.update(images)
    return images


@contextlib.contextmanager
def lab() -> Iterator[dict[str, str]]:
    """start_lab() for a `with` block (its images), torn down after it (teardown)."""
    images = start_lab()
    try:
        yield images
    finally:
        teardown()


def new_key() -> Path:
    """A fresh ed25519 key pair in a private temporary folder; returns the private key's path."""
    key_file = Path(tempfile.mkdtemp(prefix=f"{NETWORK}-ssh-")) / "id_ed25519"  # the folder is 0700
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{NETWORK}-test", "-f", str(key_file))
    return key_file


def start_hosts(n: int) -> list[Host]:
    """The lab, then hosts fs-e2e-host-1..n with Docker, ready (static nodes).

    Host i is at 10.77.0.(10 + i) with the hostname fs-e2e-host-i.
    """
    images = start_lab()
    key_file = new_key()
    subnet = ipaddress.ip_network(SUBNET)
    hosts = [Host(name=f"{NETWORK}-host-{i}", ip=str(subnet[10 + i]), user="ubuntu", port=22,
                  private_key=key_file.read_text(), key_file=key_file)
             for i in range(1, n + 1)]
    with phase("hosts"):
        for host in hosts:
            _run_host(host, images["host"], key_file.with_suffix(".pub").read_text().strip())
        for host in hosts:
            _wait_host(host)
    return [dataclasses.replace(h, host_key=host_key_of(h.name)) for h in hosts]


def host_key_of(container: str) -> str:
    """The host's ed25519 host key (`ssh-ed25519 AAAA...`), read on it, as its owner would."""
    return " ".join(run("docker", "exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()[:2])


VM_ADDRESSES = [str(a) for a in list(ipaddress.ip_network(SUBNET).hosts())[20:60]]  # 10.77.0.21 on


class Vms:
    """Blank test hosts standing in for cloud VMs (cloud.py's `Hosts`), on the lab's network.

    Static IPs get addresses from 10.77.0.21 on, one per IP resource, kept for the session; a VM
    boots a blank host at its IP's address (hostname: the VM's name less `-vm`) and its removal
    removes the host and its disk, so a VM created again at that address is blank again. `kept(name)`
    gives the two maps it keeps (plain dicts; the stand-in plugins keep them in files, across processes).
    """

    def __init__(self, image: str, key_file: Path, kept: Callable[[str], MutableMapping] = lambda _name: {}):
        self.image, self.key_file = image, key_file
        self.by_address: MutableMapping[str, str] = kept("vm-hosts")  # address -> container
        self._addresses: MutableMapping[str, str] = kept("vm-addresses")  # IP resource name -> address

    def address(self, ip_resource: str) -> str:
        if ip_resource not in self._addresses:
            taken = set(self._addresses.values())  # never given back: a new IP gets a new address
            self._addresses[ip_resource] = next(a for a in VM_ADDRESSES if a not in taken)
        return self._addresses[ip_resource]

    def start_vm(self, name: str, address: str, user: str, public_key: str, user_data: str = "") -> None:
        """Boot a blank host for a VM, with its cloud-init user data: the host key (`ssh_keys`), files and commands."""
        assert user == "ubuntu", f"the test VMs log in as ubuntu, not {user!r}"
        doc = yaml.safe_load(user_data) if user_data else {}
        assert not user_data or user_data.startswith("#cloud-config\n"), "cloud-init reads only #cloud-config here"
        host = self.host(address, f"{NETWORK}-{name}")
        _run_host(host, self.image, public_key, hostname=name.removesuffix("-vm"),
                  host_key=(doc.get("ssh_keys") or {}).get("ed25519_private", ""), final_stage=cloud_init_final(doc))
        self.by_address[address] = host.name

    def remove_vm(self, address: str) -> None:
        name = self.by_address.pop(address)
        run("docker", "rm", "--force", "--volumes", name)
        run("docker", "volume", "rm", "--force", name)

    def host(self, address: str, name: str = "") -> Host:
        """The VM at `address`, to reach it over SSH with the stack's key."""
        return Host(name or self.by_address[address], address, "ubuntu", 22, self.key_file.read_text(),
                    self.key_file)


class ProcessWatch:
    """Samples every running test host's process list (`ps -eo args`) in the background while in use.

    `lines` is every command line seen: what any user of a host could read with `ps` meanwhile,
    where no secret may be.
    """

    def __init__(self, interval: float = 0.3):
        self.interval, self.samples, self.lines = interval, 0, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ProcessWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def seen(self, secret: str) -> list[str]:
        return [line for line in self.lines if secret in line]

    def _watch(self) -> None:
        while not self._stop.is_set():
            for container in run("docker", "ps", "-q", "--filter", f"label={LABEL}", check=False).split():
                listing = subprocess.run(["docker", "exec", container, "ps", "-eo", "args"], capture_output=True,
                                         text=True).stdout
                self.samples += 1
                self.lines.update(listing.splitlines())
            time.sleep(self.interval)


def stop_host(host: Host) -> None:
    """Stop the host's container (its entrypoint stops the inner dockerd cleanly)."""
    run("docker", "stop", "--time", "30", host.name)


def start_host(host: Host) -> None:
    """Start a stopped host again and wait until SSH and its inner dockerd answer."""
    run("docker", "start", host.name)
    _wait_host(host)


def teardown() -> None:
    """Remove every container, volume and network we created, and the SSH keys (idempotent)."""
    global _lock
    _acquire_lock()
    _remove_all()
    _lock.close()  # releases the flock
    _lock = None


def _remove_all() -> None:
    """Remove what carries LABEL (containers first, volumes, then the network) and SSH keys."""
    containers = run("docker", "ps", "-aq", "--filter", f"label={LABEL}").split()
    if containers:
        run("docker", "rm", "--force", "--volumes", *containers)
    volumes = run("docker", "volume", "ls", "-q", "--filter", f"label={LABEL}").split()
    if volumes:
        run("docker", "volume", "rm", *volumes)
    networks = run("docker", "network", "ls", "-q", "--filter", f"label={LABEL}").split()
    for network in networks:  # a removed container can leave its endpoint behind, and the network then
        # "has active endpoints": force it out by the name inspect shows (moby/moby#33156, #23302)
        for name in run("docker", "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}",
                        network).split():
            run("docker", "network", "disconnect", "--force", network, name)
    if networks:
        run("docker", "network", "rm", *networks)
    for key_dir in Path(tempfile.gettempdir()).glob(f"{NETWORK}-ssh-*"):
        shutil.rmtree(key_dir)
