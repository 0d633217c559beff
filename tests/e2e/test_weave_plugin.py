"""The Weave plugin's steps on a real Docker Engine: pinned by digest, installed, configured, enabled.

The Weave Net plugin cannot be fetched here, so a stand-in plugin (images/net-plugin: a network driver
that answers Docker's plugin handshake, and takes Weave's three settings) is built, pushed to the lab's
registry as a plugin, and given to the program's own scripts as `network.weavePlugin` would be:
`weave-pin.sh` (the control manager's `swarm-weave-pin`) asks the Engine for the tag's digest, and
`weave-plugin.sh` (every node's `-weave`) installs that digest under the plugin's name, sets its
settings with the password from stdin, enables it; run again, it changes nothing; over a plugin the
first boot installed from its tag, it checks the digest again. Each runs as its step runs it: over
SSH, `sudo -n bash -c '<script>' <name> args...`.

The hosts run Debian 12's Docker 20.10.24, which panics pulling a plugin by digest (moby v20.10.24
plugin/fetch_linux.go:202-203; found here, by this test): there the script installs from the tag and
checks the digest the pull reports. The other path, by digest on Docker 23.0.10, 25.0.3 and later, is
proven against the fake Engine only (tests/test_weave_scripts.py).
"""
import hashlib
import json
import shlex
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from components.steps import script_text
from tests.e2e import hosts
from tests.e2e.build import CACHE
from tests.e2e.proc import TIMINGS, run, wait

pytestmark = pytest.mark.e2e
SOURCE = Path(__file__).parent / "images" / "net-plugin"
PLUGIN = f"{hosts.REGISTRY}/flink-swarm-e2e/net-plugin:stub"  # as the hosts see it
PASSWORD = "e2e-weave-password-7f3a"


def _build_plugin() -> Path:
    """The stand-in's plugin folder (config.json and rootfs/net-plugin, a static binary), cached by its sources."""
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(SOURCE.iterdir()))).hexdigest()[:16]
    folder = CACHE / f"net-plugin-{key}"
    if not (folder / "rootfs" / "net-plugin").exists():
        if shutil.which("go") is None:
            pytest.fail("building the stand-in Weave plugin needs Go: apt-get install golang-go (or Go from go.dev)")
        shutil.rmtree(folder, ignore_errors=True)
        work = folder / "src"
        work.mkdir(parents=True)
        shutil.copy(SOURCE / "main.go", work)
        (work / "go.mod").write_text("module netplugin\n\ngo 1.22\n")
        (folder / "rootfs").mkdir()
        run("env", "CGO_ENABLED=0", "GOFLAGS=-trimpath", "go", "-C", str(work), "build", "-ldflags=-s -w",
            "-o", str(folder / "rootfs" / "net-plugin"), ".")
        shutil.copy(SOURCE / "config.json", folder)
    return folder


def _registry_digest(reference: str) -> str:
    """The digest the registry itself gives the tag's manifest (its Docker-Content-Digest header)."""
    address, _, path = reference.partition("/")
    repository, tag = path.rsplit(":", 1)
    request = urllib.request.Request(f"http://{address}/v2/{repository}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # the lab's registry, on loopback
        return answer.headers["Docker-Content-Digest"]


@pytest.fixture(scope="module")
def host():
    """One host with Docker; the stand-in pushed to the lab's registry as PLUGIN. Yields (host, its digest)."""
    [test_host] = hosts.start_hosts(1)
    try:
        started = time.monotonic()
        wait("the host's Docker Engine", lambda: hosts.run_ssh(test_host, "docker info")[0] == 0, 60)
        port = run("docker", "port", f"{hosts.NETWORK}-registry", "5000/tcp").splitlines()[0].rsplit(":", 1)[1]
        local = f"127.0.0.1:{port}/{PLUGIN.split('/', 1)[1]}"  # the outer engine pushes through loopback
        run("docker", "plugin", "rm", "--force", local, check=False)
        run("docker", "plugin", "create", local, str(_build_plugin()))
        run("docker", "plugin", "push", local)
        run("docker", "plugin", "rm", "--force", local)
        digest = _registry_digest(local)
        TIMINGS["weave stand-in: built and pushed"] = time.monotonic() - started
        yield test_host, digest
    finally:
        hosts.teardown()


def step(test_host, name: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    command = f"sudo -n bash -c {shlex.quote(script_text(name))} {name} {' '.join(map(shlex.quote, args))}"
    return hosts.run_ssh(test_host, command, stdin=stdin, timeout=180)


def inspect(test_host, name: str) -> dict:
    rc, out, err = hosts.run_ssh(test_host, f"docker plugin inspect {shlex.quote(name)}")
    assert rc == 0, err
    [found] = json.loads(out)
    return found


def test_the_pin_is_the_digest_the_registry_holds(host):
    test_host, digest = host
    rc, out, err = step(test_host, "weave-pin", PLUGIN)
    assert rc == 0, err
    assert out == f"{PLUGIN}@{digest}\n"  # what the registry holds
    rc, again, _ = step(test_host, "weave-pin", out.strip())  # pinned already: printed as it is
    assert (rc, again) == (0, out)
    rc, out, err = step(test_host, "weave-pin", f"{hosts.REGISTRY}/flink-swarm-e2e/net-plugin:no-such-tag")
    assert rc == 1 and out == "" and "attempt 3 to find" in err


def test_the_plugin_is_installed_from_its_digest_configured_and_enabled_then_left_alone(host):
    test_host, digest = host
    pinned = f"{PLUGIN}@{digest}"
    started = time.monotonic()
    rc, out, err = step(test_host, "weave-plugin", pinned, "172.30.0.0/16", "1376", stdin=PASSWORD + "\n")
    TIMINGS["weave-plugin: installed, checked, set, enabled"] = time.monotonic() - started
    assert rc == 0, err
    assert PASSWORD not in out + err
    assert f"{PLUGIN} is {digest} (install by its tag, checked, Docker 20.10" in err
    found = inspect(test_host, PLUGIN)
    assert found["Name"] == PLUGIN and found["Enabled"] is True
    rc, record, _ = hosts.run_ssh(test_host, "sudo cat /var/lib/flink-swarm/weave-plugin")
    assert (rc, record) == (0, f"{found['Id']} {digest}\n")  # the step's proof that it is the pinned one
    assert {"IPALLOC_RANGE=172.30.0.0/16", "WEAVE_MTU=1376", f"WEAVE_PASSWORD={PASSWORD}"} <= set(found["Settings"]["Env"])
    rc, ps_out, _ = hosts.run_ssh(test_host, "ps -eo args")  # the password went in a request body, never an argument
    assert rc == 0 and PASSWORD not in ps_out

    rc, out, err = step(test_host, "weave-plugin", pinned, "172.30.0.0/16", "1376", stdin=PASSWORD + "\n")
    assert (rc, out, err) == (0, "", "")  # nothing to do, nothing said
    assert inspect(test_host, PLUGIN)["Id"] == found["Id"]


def test_a_plugin_the_boot_installed_from_its_tag_is_checked_again_then_left_alone(host):
    test_host, digest = host
    rc, _, err = hosts.run_ssh(test_host, f"docker plugin rm --force {PLUGIN}; docker plugin install "
                                          f"--grant-all-permissions --disable {PLUGIN}")  # as first-boot.sh does
    assert rc == 0, err
    rc, _, err = step(test_host, "weave-plugin", f"{PLUGIN}@{digest}", "172.30.0.0/16", "1376", stdin=PASSWORD + "\n")
    assert rc == 0 and f"{PLUGIN} is {digest} (upgrade by its tag, checked" in err, err
    assert inspect(test_host, PLUGIN)["Enabled"] is True
    rc, out, err = step(test_host, "weave-plugin", f"{PLUGIN}@{digest}", "172.30.0.0/16", "1376", stdin=PASSWORD + "\n")
    assert (rc, out, err) == (0, "", "")


def test_a_pin_the_tag_no_longer_has_is_refused_and_the_plugin_left_disabled(host):
    test_host, digest = host
    moved = "sha256:" + "0" * 64  # as if the registry's tag had moved since the stack pinned it
    rc, out, err = step(test_host, "weave-plugin", f"{PLUGIN}@{moved}", "172.30.0.0/16", "1376", stdin=PASSWORD + "\n")
    assert rc == 1 and f"no longer the stack's pinned {moved}" in err and f"Digest: {digest}" in err, err
    assert inspect(test_host, PLUGIN)["Enabled"] is False
