"""Local, cloud-like test hosts for the end-to-end tests.

Each host is a container that behaves like a small cloud VM: sshd with key-only login
for `ubuntu` (passwordless sudo, group docker) and its own Docker Engine, so the host
scripts can run `docker swarm init/join` between hosts and overlay networks carry traffic
between them. The hosts sit on the Docker network `fs-e2e` (10.77.0.0/24) at fixed
addresses, next to a registry (10.77.0.2:5000) that serves the Flink image: hosts pull
it as a cloud VM would pull from a registry.

Nothing is pulled from the internet: a Debian rootfs is debootstrapped from the mirror
apt uses here, and every image is built from it. Rootfs, Flink distribution, images and
the WordCount jar are cached (under CACHE, or as image tags) by a hash of their inputs.

    hosts = start_hosts(3)           # builds what is missing, then starts registry + hosts
    rc, out, err = run_ssh(hosts[0], "docker info")
    teardown()                       # removes containers, volumes, network

Every phase is timed (`with phase(name):`) into TIMINGS and printed as "[e2e] images: 12.3s".
Must run as root (debootstrap, and dockerd if none is running).
"""

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path("/var/cache/flink-swarm-e2e")
DOCKERD_LOG = Path("/var/log/flink-swarm-e2e-dockerd.log")

LABEL = "flink-swarm-e2e"  # on every container, volume and network we create
NETWORK = "fs-e2e"
SUBNET = "10.77.0.0/24"
REGISTRY_IP = "10.77.0.2"  # hosts are 10.77.0.11, .12, ...
REGISTRY = f"{REGISTRY_IP}:5000"

SUITE = "bookworm"
FLINK_VERSION = "1.20.3"
FLINK_IMAGE = f"{REGISTRY}/flink-swarm-e2e/flink:{FLINK_VERSION}"  # as the hosts see it

# What the WordCount job (wordcount/WordCount.java) must count; see flink_rest.word_counts.
WORDCOUNT_COUNTS = {
    "to": 3, "be": 3, "or": 1, "not": 1, "that": 1, "is": 2, "the": 2, "question": 1,
    "flink": 1, "run": 1, "on": 1, "swarm": 1,
}

SSH_OPTIONS = [
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "ConnectTimeout=5", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
]

TIMINGS: dict[str, float] = {}
_lock = None  # open lock file, held from start_hosts() to teardown(): one set of hosts at a time


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    user: str
    port: int
    private_key: str  # OpenSSH private key text
    key_file: Path  # the same key on disk (0600), for `ssh -i`


# --- helpers ---------------------------------------------------------------------------

@contextlib.contextmanager
def phase(name: str):
    """Time the block into TIMINGS[name] and print "[e2e] name: 1.2s"."""
    start = time.monotonic()
    yield
    TIMINGS[name] = time.monotonic() - start
    print(f"[e2e] {name}: {TIMINGS[name]:.1f}s", flush=True)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(*cmd: str, timeout: float = 600, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed (rc={proc.returncode}):\n"
                           f"{_tail(proc.stdout + proc.stderr)}")
    return proc.stdout.strip()


def _hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _wait(what: str, ready, timeout: float, diagnose=lambda: "") -> None:
    """Poll ready() until it is true; on timeout raise with what diagnose() returns."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f}s\n{diagnose()}")
        time.sleep(1)


# --- Docker Engine ---------------------------------------------------------------------

def _dockerd_answers() -> bool:
    return subprocess.run(["docker", "version"], capture_output=True).returncode == 0


def ensure_dockerd() -> None:
    """Start dockerd in the background (logging to DOCKERD_LOG) unless one answers."""
    if _dockerd_answers():
        return
    if os.geteuid() != 0:
        reason = subprocess.run(["docker", "version"], capture_output=True, text=True).stderr
        raise RuntimeError(f"no Docker Engine answers on /var/run/docker.sock:\n{_tail(reason, 3)}\n"
                           f"start one as root: sudo sh -c 'dockerd >>{DOCKERD_LOG} 2>&1 &'")
    with phase("dockerd"), open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait("dockerd", _dockerd_answers, 60, lambda: _tail(DOCKERD_LOG.read_text()))


# --- images ------------------------------------------------------------------------------

def _debian_mirror() -> str:
    """The Debian mirror apt is configured with (first active entry ending in /debian)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
               *sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))]
    for source in filter(Path.exists, sources):
        for line in source.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                for word in line.split():
                    if re.fullmatch(r"https?://\S+/debian/?", word):
                        return word
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list(.d)")


def _rootfs() -> Path:
    """A minbase Debian rootfs tarball (debootstrap), without apt lists, docs and locales."""
    mirror = _debian_mirror()
    tarball = CACHE / f"rootfs-{SUITE}-{_hash(SUITE, 'minbase', mirror)}.tar.gz"
    if not tarball.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            root = Path(tmp, "rootfs")
            _run("debootstrap", "--variant=minbase", SUITE, str(root), mirror, timeout=1200)
            for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*",
                            "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*"):
                for path in root.glob(pattern):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            _run("tar", "--numeric-owner", "-C", str(root), "-czf", f"{tmp}/rootfs.tar.gz", ".")
            os.replace(f"{tmp}/rootfs.tar.gz", tarball)
    return tarball


def _image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _base_image(rootfs: Path) -> str:
    tag = f"{LABEL}/base:{rootfs.name.removesuffix('.tar.gz')}"
    if not _image_exists(tag):
        _run("docker", "import", str(rootfs), tag)
    return tag


def _context(root: Path, prefix: str = "") -> dict[str, Path]:
    """Build-context entries (name in the context -> file or directory) for a tree."""
    return {prefix + str(path.relative_to(root)): path for path in sorted(root.rglob("*"))}


def _build_image(name: str, base: str, context: dict[str, Path]) -> str:
    """Build `context` FROM `base` as flink-swarm-e2e/<name>:<hash of all inputs>, once."""
    parts = [base]
    for arcname, path in sorted(context.items()):
        parts += [arcname, oct(path.stat().st_mode)]
        if path.is_file():
            with open(path, "rb") as f:
                parts.append(hashlib.file_digest(f, "sha256").digest())
    tag = f"{LABEL}/{name}:{_hash(*parts)}"
    if _image_exists(tag):
        return tag
    with tempfile.TemporaryFile() as tar_file:
        with tarfile.open(fileobj=tar_file, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for arcname, path in sorted(context.items()):
                tar.add(path, arcname, recursive=False)
        tar_file.seek(0)
        proc = subprocess.run(["docker", "build", "--build-arg", f"BASE={base}", "-t", tag, "-"],
                              stdin=tar_file, capture_output=True, text=True,
                              env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if proc.returncode != 0:
        raise RuntimeError(f"building image {name} failed:\n{_tail(proc.stdout + proc.stderr, 40)}")
    return tag


def _flink_home() -> Path:
    """FLINK_HOME (bin, conf, lib, opt, plugins, log) from the PyPI packages of Flink.

    apache-flink's wheel has bin/ and conf/ under pyflink/; the apache-flink-libraries
    sdist has the jars under deps/. PyFlink's Java side (opt/flink-python) is left out.
    """
    home = CACHE / f"flink-{FLINK_VERSION}"
    if home.exists():
        return home
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        _run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
             f"apache-flink=={FLINK_VERSION}", f"apache-flink-libraries=={FLINK_VERSION}")
        staging = Path(tmp, "flink")
        with zipfile.ZipFile(next(Path(tmp).glob("apache_flink-*.whl"))) as wheel:
            for info in wheel.infolist():
                if re.match(r"pyflink/(bin|conf)/[^/]+$", info.filename):
                    target = staging / info.filename.removeprefix("pyflink/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(wheel.read(info))
                    target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
        with tarfile.open(next(Path(tmp).glob("apache-flink-libraries-*.tar.gz"))) as sdist:
            for member in sdist.getmembers():
                match = re.match(r"[^/]+/deps/((bin|lib|opt|plugins)/.*)", member.name)
                if member.isfile() and match and "flink-python" not in member.name:
                    member.name = match.group(1)
                    sdist.extract(member, staging, filter="data")
        (staging / "log").mkdir()
        os.rename(staging, home)
    return home


def build_images() -> dict[str, str]:
    """Build (or find cached) images; returns {"host"|"flink"|"registry": image tag}."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with phase("rootfs"):
        rootfs = _rootfs()
    with phase("images"):
        base = _base_image(rootfs)
        images = {name: _build_image(name, base, _context(HERE / "images" / name))
                  for name in ("host", "registry")}
        home = _flink_home()
        images["flink"] = _build_image("flink", base, {**_context(HERE / "images" / "flink"),
                                                       "flink": home, **_context(home, "flink/")})
    return images


def build_wordcount_jar() -> Path:
    """wordcount/WordCount.java compiled against Flink's lib/ into a runnable jar (cached)."""
    source = HERE / "wordcount" / "WordCount.java"
    CACHE.mkdir(parents=True, exist_ok=True)
    with phase("wordcount-jar"):
        jar = CACHE / f"wordcount-{_hash(source.read_bytes(), FLINK_VERSION)}.jar"
        if not jar.exists():
            with tempfile.TemporaryDirectory() as tmp:
                _run("javac", "--release", "17", "-nowarn", "-cp", f"{_flink_home()}/lib/*",
                     "-d", f"{tmp}/classes", str(source))
                _run("jar", "--create", "--file", f"{tmp}/wordcount.jar", "--main-class", "WordCount",
                     "-C", f"{tmp}/classes", ".")
                os.replace(f"{tmp}/wordcount.jar", jar)
    return jar


# --- hosts -----------------------------------------------------------------------------

def run_ssh(host: Host, cmd: str, stdin: str | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run `cmd` on `host` with the system ssh client; returns (rc, stdout, stderr)."""
    proc = subprocess.run(["ssh", *SSH_OPTIONS, "-i", str(host.key_file), "-p", str(host.port),
                           f"{host.user}@{host.ip}", cmd],
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def public_key_of(private_key: str) -> str:
    """The OpenSSH public key line of an OpenSSH/PEM private key."""
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp, "key")
        key_file.write_text(private_key)
        key_file.chmod(0o600)
        return _run("ssh-keygen", "-y", "-f", str(key_file))


def _host_logs(name: str) -> str:
    """Last lines of a host container's own log (sshd) and of its inner dockerd."""
    own = subprocess.run(["docker", "logs", "--tail", "20", name], capture_output=True, text=True)
    inner = subprocess.run(["docker", "exec", name, "tail", "-n", "20", "/var/log/dockerd.log"],
                           capture_output=True, text=True)
    return (f"--- docker logs {name}:\n{_tail(own.stdout + own.stderr)}\n"
            f"--- {name}:/var/log/dockerd.log:\n{_tail(inner.stdout + inner.stderr)}")


def _wait_host(host: Host, timeout: float = 180) -> None:
    """Wait until the host answers SSH and its inner dockerd answers `docker info`."""
    def ready() -> bool:
        if _run("docker", "inspect", "-f", "{{.State.Running}}", host.name) != "true":
            raise RuntimeError(f"host {host.name} container stopped\n{_host_logs(host.name)}")
        return run_ssh(host, "docker info --format '{{.ServerVersion}}'", timeout=30)[0] == 0
    _wait(f"host {host.name} ({host.ip}): ssh + docker info", ready, timeout,
          lambda: _host_logs(host.name))


def _start_registry(images: dict[str, str]) -> None:
    """Run the registry at REGISTRY and push the Flink image to it as FLINK_IMAGE.

    Its storage is kept in CACHE, so pushing an unchanged image again is quick.
    """
    name = f"{NETWORK}-registry"
    _run("docker", "run", "-d", "--name", name, "--label", LABEL,
         "--network", NETWORK, "--ip", REGISTRY_IP, "--publish", "127.0.0.1::5000",
         "--volume", f"{CACHE}/registry:/var/lib/docker-registry", images["registry"])
    port = _run("docker", "port", name, "5000/tcp").splitlines()[0].rsplit(":", 1)[1]

    def answers() -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).status == 200
        except OSError:
            return False
    _wait("registry", answers, 30, lambda: _run("docker", "logs", name, check=False))
    # The outer engine pushes via loopback (insecure by default); hosts pull via REGISTRY.
    local = f"127.0.0.1:{port}/{FLINK_IMAGE.split('/', 1)[1]}"
    _run("docker", "tag", images["flink"], local)
    _run("docker", "push", local)
    _run("docker", "rmi", local)


def _nameservers() -> list[str]:
    """This machine's DNS servers, for the hosts' inner dockerd (it cannot use 127.0.0.11)."""
    return [line.split()[1] for line in Path("/etc/resolv.conf").read_text().splitlines()
            if line.startswith("nameserver") and not line.split()[1].startswith("127.")]


def _run_host(host: Host, image: str, public_key: str) -> None:
    _run("docker", "volume", "create", "--label", LABEL, host.name)
    dockerd_config = json.dumps({"insecure-registries": [REGISTRY], "dns": _nameservers()})
    _run("docker", "run", "-d", "--name", host.name, "--hostname", host.name, "--label", LABEL,
         "--network", NETWORK, "--ip", host.ip, "--volume", f"{host.name}:/var/lib/docker",
         # --privileged is refused here (no CAP_SYS_RESOURCE in the bounding set), so grant
         # the rest by hand; the entrypoint remounts /sys and the cgroups read-write.
         "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
         "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
         "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
         "--env", f"SSH_AUTHORIZED_KEY={public_key}", "--env", f"DOCKERD_CONFIG={dockerd_config}",
         image)


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


def start_hosts(n: int) -> list[Host]:
    """Build what is missing, then start the registry and hosts fs-e2e-host-1..n, ready.

    Host i is at 10.77.0.(10 + i) with the hostname fs-e2e-host-i.
    """
    ensure_dockerd()
    images = build_images()
    _acquire_lock()
    _remove_all()  # leftovers of a crashed run
    key_dir = Path(tempfile.mkdtemp(prefix=f"{NETWORK}-ssh-"))  # mode 0700
    key_file = key_dir / "id_ed25519"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{NETWORK}-test", "-f", str(key_file))
    subnet = ipaddress.ip_network(SUBNET)
    hosts = [Host(name=f"{NETWORK}-host-{i}", ip=str(subnet[10 + i]), user="ubuntu", port=22,
                  private_key=key_file.read_text(), key_file=key_file)
             for i in range(1, n + 1)]
    _run("docker", "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK)
    with phase("registry"):
        _start_registry(images)
    with phase("hosts"):
        for host in hosts:
            _run_host(host, images["host"], key_file.with_suffix(".pub").read_text().strip())
        for host in hosts:
            _wait_host(host)
    return hosts


def stop_host(host: Host) -> None:
    """Stop the host's container (its entrypoint stops the inner dockerd cleanly)."""
    _run("docker", "stop", "--time", "30", host.name)


def start_host(host: Host) -> None:
    """Start a stopped host again and wait until SSH and its inner dockerd answer."""
    _run("docker", "start", host.name)
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
    containers = _run("docker", "ps", "-aq", "--filter", f"label={LABEL}").split()
    if containers:
        _run("docker", "rm", "--force", "--volumes", *containers)
    volumes = _run("docker", "volume", "ls", "-q", "--filter", f"label={LABEL}").split()
    if volumes:
        _run("docker", "volume", "rm", *volumes)
    networks = _run("docker", "network", "ls", "-q", "--filter", f"label={LABEL}").split()
    if networks:
        _run("docker", "network", "rm", *networks)
    for key_dir in Path(tempfile.gettempdir()).glob(f"{NETWORK}-ssh-*"):
        shutil.rmtree(key_dir)
