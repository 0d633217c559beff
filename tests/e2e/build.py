"""Images for the end-to-end tests (Dockerfiles under images/), built from local material only (nothing is pulled).

A Debian rootfs is debootstrapped from the mirror apt uses here and imported; the registry, mirror
and Flink images are built from it (Flink from the PyPI packages of Flink), and so is the program's own
node image (components/local-host, what a `cloud: local` node runs) that the test hosts are built on;
the WordCount jar is compiled against Flink's lib/. Everything is cached under CACHE, or as image tags,
by a hash of its inputs. Must run as root (debootstrap, and dockerd if none is running).
"""
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from components import local

from .proc import digest, phase, run, tail, wait

HERE = Path(__file__).resolve().parent
CACHE = Path("/var/cache/flink-swarm-e2e")
DOCKERD_LOG = Path("/var/log/flink-swarm-e2e-dockerd.log")
LABEL = "flink-swarm-e2e"  # on every image, container, volume and network the tests create

SUITE = "bookworm"
FLINK_VERSION = "1.20.3"
SPARK_VERSION = "3.5.7"  # the official image's (config/defaults.yaml spark.image), from the pyspark sdist
MAVEN = "https://repo1.maven.org/maven2"
# Jars from Maven Central (group, artifact, version): the SQL gateway, which the PyPI packages lack, and the
# connector a team's image adds (images/flink-sql; Maven Central serves flink-sql-avro up to 1.20.0 for 1.20).
SQL_GATEWAY_JAR = ("org.apache.flink", "flink-sql-gateway", FLINK_VERSION)
CONNECTOR_JAR = ("org.apache.flink", "flink-sql-avro", "1.20.0")


def _dockerd_answers() -> bool:
    return subprocess.run(["docker", "version"], capture_output=True).returncode == 0


_started: dict = {}  # what ensure_dockerd changed, for stop_dockerd to undo


def ensure_dockerd() -> None:
    """Start dockerd in the background (logging to DOCKERD_LOG) unless one answers.

    Docker changes the machine's firewall (iptables chains, FORWARD's policy) and turns on IP
    forwarding; both are saved first, and `stop_dockerd` puts them back.
    """
    if _dockerd_answers():
        return
    if os.geteuid() != 0:
        reason = subprocess.run(["docker", "version"], capture_output=True, text=True).stderr
        raise RuntimeError(f"no Docker Engine answers on /var/run/docker.sock:\n{tail(reason, 3)}\n"
                           f"start one as root: sudo sh -c 'dockerd >>{DOCKERD_LOG} 2>&1 &'")
    _drop_rules_of_gone_bridges()
    _started["iptables"] = {tool: run(f"{tool}-save", check=False) for tool in ("iptables", "ip6tables")}
    _started["ip_forward"] = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    with phase("dockerd"), open(DOCKERD_LOG, "ab") as log:
        _started["dockerd"] = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)
        wait("dockerd", _dockerd_answers, 60, lambda: tail(DOCKERD_LOG.read_text()))


def _drop_rules_of_gone_bridges() -> None:
    """Drop the iptables rules of Docker bridges that no longer exist (a dockerd killed before it
    removed its networks leaves them). A stale `POSTROUTING -s <subnet> ! -o br-<gone> -j MASQUERADE`
    would masquerade the traffic between the test hosts of a new network on the same subnet (bridged
    traffic goes through iptables), and their firewalls would see the bridge's address, not a peer's."""
    for table in ("filter", "nat"):
        for line in run("iptables-save", "-t", table, check=False).splitlines():
            bridge = re.search(r"\bbr-[0-9a-f]{12}\b", line)
            if line.startswith("-A ") and bridge and not Path("/sys/class/net", bridge.group()).exists():
                run("iptables", "-t", table, "-D", *shlex.split(line[3:]))


def stop_dockerd() -> None:
    """Stop the dockerd that ensure_dockerd started, and put back the firewall and forwarding it changed."""
    dockerd = _started.pop("dockerd", None)
    if dockerd is None:
        return
    dockerd.terminate()
    dockerd.wait(timeout=60)
    for tool, saved in _started.pop("iptables").items():
        subprocess.run([f"{tool}-restore"], input=saved + "\n", text=True, check=False)
    Path("/proc/sys/net/ipv4/ip_forward").write_text(_started.pop("ip_forward"))


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
    tarball = CACHE / f"rootfs-{SUITE}-{digest(SUITE, 'minbase', mirror)}.tar.gz"
    if not tarball.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            root = Path(tmp, "rootfs")
            run("debootstrap", "--variant=minbase", SUITE, str(root), mirror, timeout=1200)
            for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*",
                            "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*"):
                for path in root.glob(pattern):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            run("tar", "--numeric-owner", "-C", str(root), "-czf", f"{tmp}/rootfs.tar.gz", ".")
            os.replace(f"{tmp}/rootfs.tar.gz", tarball)
    return tarball


def _image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _base_image(rootfs: Path) -> str:
    tag = f"{LABEL}/base:{rootfs.name.removesuffix('.tar.gz')}"
    if not _image_exists(tag):
        run("docker", "import", str(rootfs), tag)
    return tag


def _context(root: Path, prefix: str = "") -> dict[str, Path]:
    """Build-context entries (name in the context -> file or directory) for a tree."""
    return {prefix + str(path.relative_to(root)): path for path in sorted(root.rglob("*"))}


def _build_image(name: str, context: dict[str, Path], args: dict[str, str]) -> str:
    """Build `context` with build `args` (its base among them) as flink-swarm-e2e/<name>:<hash of all inputs>, once."""
    parts = [f"{key}={value}" for key, value in sorted(args.items())]
    for arcname, path in sorted(context.items()):
        parts += [arcname, oct(path.stat().st_mode)]
        if path.is_file():
            with open(path, "rb") as f:
                parts.append(hashlib.file_digest(f, "sha256").digest())
    tag = f"{LABEL}/{name}:{digest(*parts)}"
    if _image_exists(tag):
        return tag
    with tempfile.TemporaryFile() as tar_file:
        with tarfile.open(fileobj=tar_file, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for arcname, path in sorted(context.items()):
                tar.add(path, arcname, recursive=False)
        tar_file.seek(0)
        proc = subprocess.run(["docker", "build", *(f"--build-arg={k}={v}" for k, v in args.items()), "-t", tag, "-"],
                              stdin=tar_file, capture_output=True, text=True,
                              env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if proc.returncode != 0:
        raise RuntimeError(f"building image {name} failed:\n{tail(proc.stdout + proc.stderr, 40)}")
    return tag


def _flink_home() -> Path:
    """FLINK_HOME (bin, conf, lib, opt, plugins, log) from the PyPI packages of Flink.

    apache-flink's wheel has bin/ and conf/ under pyflink/; the apache-flink-libraries
    sdist has the jars under deps/ (opt/flink-python-*.jar: what `flink run -py` runs).
    """
    home = CACHE / f"flink-home-{FLINK_VERSION}"
    if home.exists():
        return home
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
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
                if member.isfile() and match:
                    member.name = match.group(1)
                    sdist.extract(member, staging, filter="data")
        (staging / "log").mkdir()
        os.rename(staging, home)
    return home


def _maven_jar(group: str, artifact: str, version: str) -> Path:
    """A jar from Maven Central, checked against the SHA-1 it publishes beside it; cached."""
    jar = CACHE / "maven" / f"{artifact}-{version}.jar"
    if not jar.exists():
        url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
        with phase(f"{artifact} {version} from Maven Central"), tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            data = urllib.request.urlopen(url, timeout=120).read()
            want = urllib.request.urlopen(url + ".sha1", timeout=60).read().decode().split()[0]
            if hashlib.sha1(data).hexdigest() != want:
                raise RuntimeError(f"{url}: SHA-1 {hashlib.sha1(data).hexdigest()}, Maven Central says {want}")
            Path(tmp, "jar").write_bytes(data)
            jar.parent.mkdir(exist_ok=True)
            os.replace(Path(tmp, "jar"), jar)
    return jar


def _spark_home() -> Path:
    """SPARK_HOME (bin, sbin, jars, python) from the pyspark sdist: its deps/ has Spark's scripts and jars;
    PySpark goes to python/ and, zipped with py4j, to python/lib/ where Spark puts both on its Python
    workers' path (core PythonUtils.sparkPythonPath: python/lib/pyspark.zip and the py4j zip)."""
    home = CACHE / f"spark-home-{SPARK_VERSION}"
    if home.exists():
        return home
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", tmp,
            f"pyspark=={SPARK_VERSION}", timeout=1800)
        staging = Path(tmp, "spark")
        with tarfile.open(next(Path(tmp).glob("pyspark-*.tar.gz"))) as sdist:
            for member in sdist.getmembers():
                match = re.match(r"[^/]+/(?:deps/((?:bin|sbin|jars)/.*)|(pyspark/.*)|lib/(py4j-[^/]+\.zip))$",
                                 member.name)
                if member.isfile() and match:
                    name = match[1] or (f"python/{match[2]}" if match[2] else f"python/lib/{match[3]}")
                    member.name = name
                    sdist.extract(member, staging, filter="data")
        for script in (staging / "bin").iterdir():
            script.chmod(0o755)
        for script in (staging / "sbin").iterdir():
            script.chmod(0o755)
        with zipfile.ZipFile(staging / "python" / "lib" / "pyspark.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted((staging / "python" / "pyspark").rglob("*.py")):
                archive.write(path, path.relative_to(staging / "python"))
        (staging / "RELEASE").write_text(f"Spark {SPARK_VERSION} (from the pyspark sdist)\n")
        os.rename(staging, home)
    return home


def _local_base(base: str, registry: str) -> str:
    """The tests' `local.baseImage`: the imported Debian with python3 (the docker stand-in reaches a
    node's Engine API with it: tests/plugins), whose Docker Engine (once the node image has installed
    it) trusts the plain-HTTP `registry`."""
    tag = f"{LABEL}/local-base:{digest(base, registry, 'python3')}"
    if not _image_exists(tag):
        daemon = json.dumps({"insecure-registries": [registry]})
        dockerfile = (f"FROM {base}\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y"
                      " --no-install-recommends python3 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*"
                      f" && mkdir -p /etc/docker && echo '{daemon}' > /etc/docker/daemon.json\n")
        proc = subprocess.run(["docker", "build", "--label", LABEL, "--tag", tag, "-"], input=dockerfile,
                              text=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        if proc.returncode != 0:
            raise RuntimeError(f"building image local-base failed:\n{tail(proc.stdout + proc.stderr, 40)}")
    return tag


def build_images(mirror: str, local_registry: str) -> dict[str, str]:
    """Build (or find cached) images; returns {"local-base"|"node"|"host"|"vm"|"flink"|"flink-sql"|"registry"|
    "mirror"|"prometheus"|"node-exporter"|"spark": tag} (prometheus, node-exporter and spark stand in for
    official images; flink-sql is a team's image on the Flink one, with a connector jar).

    local-base: what the tests give as `local.baseImage` (it trusts `local_registry`); node: the program's
    node image (components/local-host) built on it as the program builds it; host: a test host with Docker
    (static nodes), the node image with the test-only parts on top (images/host); vm: a blank one (cloud
    VMs), the host without Docker (images/vm). The flink image's apt and pip get their packages from
    `mirror` (the mirror image's address).
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with phase("rootfs"):
        rootfs = _rootfs()
    with phase("images"):
        base = _base_image(rootfs)
        images = {name: _build_image(name, _context(HERE / "images" / name), {"BASE": base})
                  for name in ("registry", "mirror", "prometheus", "node-exporter")}
        images["local-base"] = _local_base(base, local_registry)
        images["node"] = _build_image("node", _context(local.CONTEXT),  # the build args the program passes
                                      {"BASE_IMAGE": images["local-base"], "SSH_USER": "ubuntu"})
        images["host"] = _build_image("host", _context(HERE / "images" / "host"), {"BASE": images["node"]})
        images["vm"] = _build_image("vm", _context(HERE / "images" / "vm"), {"BASE": images["host"]})
        home = _flink_home()
        images["flink"] = _build_image("flink", {**_context(HERE / "images" / "flink"), "flink": home,
                                                 **_context(home, "flink/"),
                                                 "flink-sql-gateway.jar": _maven_jar(*SQL_GATEWAY_JAR)},
                                       {"BASE": base, "MIRROR": mirror})
        images["flink-sql"] = _build_image("flink-sql", {**_context(HERE / "images" / "flink-sql"),
                                                         "connector.jar": _maven_jar(*CONNECTOR_JAR)},
                                           {"BASE": images["flink"]})
        spark = _spark_home()
        images["spark"] = _build_image("spark", {**_context(HERE / "images" / "spark"), "spark": spark,
                                                 **_context(spark, "spark/")}, {"BASE": base})
    return images


def python_wheels() -> Path:
    """PyFlink and everything it depends on as wheels (sdists built once), for the mirror; cached.

    For this machine's Python, which is the test images' (both Debian 12: Python 3.11)."""
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    wheels = CACHE / f"wheels-{FLINK_VERSION}-{python}"
    if not wheels.exists():
        with phase("PyFlink wheels"), tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            run(sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", f"{tmp}/wheels",
                f"apache-flink=={FLINK_VERSION}", timeout=1800)
            os.rename(f"{tmp}/wheels", wheels)
    return wheels


def build_job_jar(name: str) -> Path:
    """jobs/<name>.java compiled against Flink's lib/ into a runnable jar (cached)."""
    source = HERE / "jobs" / f"{name}.java"
    CACHE.mkdir(parents=True, exist_ok=True)
    with phase(f"{name} jar"):
        jar = CACHE / f"{name.lower()}-{digest(source.read_bytes(), FLINK_VERSION)}.jar"
        if not jar.exists():
            with tempfile.TemporaryDirectory() as tmp:
                run("javac", "--release", "17", "-nowarn", "-cp", f"{_flink_home()}/lib/*",
                    "-d", f"{tmp}/classes", str(source))
                run("jar", "--create", "--file", f"{tmp}/job.jar", "--main-class", name,
                    "-C", f"{tmp}/classes", ".")
                os.replace(f"{tmp}/job.jar", jar)
    return jar
