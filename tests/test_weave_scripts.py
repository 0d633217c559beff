"""The Weave plugin pinned by digest: weave-pin.sh and weave-plugin.sh, run for real against a fake
`docker` and Engine API (`curl` on the socket) that keep one plugin's state as moby does.

As the daemon does it (moby daemon/server/router/plugin/plugin_routes.go parseRemoteRef and getName;
daemon/pkg/plugin/backend_linux.go Pull, Upgrade): a plugin installed from `<name>:<tag>@<digest>` is
named `<name>:<tag>` and its reference is `docker.io/<name>@<digest>`; from a tag, the reference names
the tag; `upgrade` needs it disabled; a pull prints the manifest's digest (`Digest: ...`, plugin/fetch_linux.go
withFetchProgress), and an Engine before 23.0.10, 24.x or 25.0.0-25.0.2 panics pulling by digest;
`/distribution/<name>/json` gives the tag's manifest descriptor.
"""
import json
import subprocess

import pytest

from components.steps import script_text

PLUGIN = "weaveworks/net-plugin:latest_release"
DIGEST = "sha256:" + "d" * 64
PINNED = f"{PLUGIN}@{DIGEST}"
PASSWORD = "weave-secret-password"

# One plugin's state in $STATE (ref, enabled, env); every call appended to $CALLS.
FAKE_DOCKER = r'''#!/usr/bin/env python3
import os, sys
state, args = os.environ["STATE"], sys.argv[1:]
open(os.environ["CALLS"], "a").write("docker " + " ".join(args) + "\n")
def get(key, default=""):
    path = os.path.join(state, key)
    return open(path).read() if os.path.exists(path) else default
def put(key, value):
    open(os.path.join(state, key), "w").write(value)
def reference(remote):  # docker.io/<repository>@<digest>, or docker.io/<repository>:<tag>
    name, _, digest = remote.partition("@")
    return "docker.io/" + (name.rsplit(":", 1)[0] + "@" + digest if digest else name)
def pull(remote):  # what the daemon prints, and how it fails, as the Engine $ENGINE does
    if "@" in remote and os.environ["ENGINE"].startswith("20."):
        sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock (it panicked)")
    print(remote.partition("@")[0].rsplit(":", 1)[1] + ": Pulling from weaveworks/net-plugin")
    print("Digest: " + (remote.partition("@")[2] or os.environ["TAG_DIGEST"]))
if args[:2] == ["plugin", "inspect"]:
    if not get("ref"):
        sys.exit("Error: No such plugin: " + args[-1])
    fmt = args[args.index("-f") + 1] if "-f" in args else ""
    print(get("ref") if "PluginReference" in fmt else get("enabled", "false") if "Enabled" in fmt
          else get("env") if "Env" in fmt else get("id") if "Id" in fmt else "{}")
elif args[:2] == ["plugin", "install"]:
    if get("ref"):
        sys.exit("Error response from daemon: plugin already exists")
    pull(args[-1])
    put("ref", reference(args[-1])); put("enabled", "false"); put("env", ""); put("id", "f" * 64)
elif args[:2] == ["plugin", "upgrade"]:
    if get("enabled") == "true":
        sys.exit("the plugin must be disabled before upgrading")
    pull(args[-1])
    put("ref", reference(args[-1]))
elif args[0] == "version":
    print(os.environ["ENGINE"])
elif args[:2] == ["plugin", "disable"]:
    put("enabled", "false")
elif args[:2] == ["plugin", "enable"]:
    put("enabled", "true")
else:
    sys.exit("unexpected: " + " ".join(args))
'''

# The Engine API on the socket: GET /distribution/<name>/json answers $ANSWER (or fails with it when
# $FAIL is set); POST /plugins/<name>/set stores the env.
FAKE_CURL = r'''#!/usr/bin/env python3
import json, os, sys
url = sys.argv[-1]
open(os.environ["CALLS"], "a").write("curl " + url + "\n")
if "/distribution/" in url:
    print(os.environ["ANSWER"])
    sys.exit(22 if os.environ.get("FAIL") else 0)
if url.endswith("/set"):
    open(os.path.join(os.environ["STATE"], "env"), "w").write("".join(v + "\n" for v in json.load(sys.stdin)))
'''


@pytest.fixture
def host(tmp_path):
    """host(script, *args, answer=, fail=) -> (exit code, stdout, stderr); host.calls(): the docker and curl
    calls since the last look; host.state(key), host.put(key, value): the plugin's state."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("curl", FAKE_CURL), ("sleep", "#!/bin/sh\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    answer = json.dumps({"Descriptor": {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                        "digest": DIGEST, "size": 1047}, "Platforms": None}, separators=(",", ":"))

    def run(name, *args, stdin=PASSWORD + "\n", answer=answer, fail="", engine="28.5.2", tag_digest=DIGEST):
        done = subprocess.run(["bash", "-c", script_text(name), name, *args], input=stdin, capture_output=True,
                              text=True, timeout=60,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin", "STATE": str(state), "CALLS": str(calls),
                                   "ANSWER": answer, "FAIL": fail, "FLINK_SWARM_LOCKS": str(tmp_path / "locks"),
                                   "FLINK_SWARM_WEAVE_RECORD": str(tmp_path / "record"), "ENGINE": engine,
                                   "TAG_DIGEST": tag_digest})
        return done.returncode, done.stdout, done.stderr

    def seen():
        text = calls.read_text()
        calls.write_text("")
        return text.splitlines()

    run.calls = seen
    run.state = lambda key: (state / key).read_text() if (state / key).exists() else ""
    run.put = lambda key, value: (state / key).write_text(value)
    run.record = tmp_path / "record"
    return run


def test_the_pin_resolves_the_tag_through_the_engine_and_installs_nothing(host):
    code, out, err = host("weave-pin", PLUGIN)
    assert (code, out) == (0, PINNED + "\n"), err
    assert host.calls() == [f"curl http://localhost/distribution/{PLUGIN}/json"]
    assert f"{PLUGIN} is {DIGEST}" in err
    code, out, _ = host("weave-pin", "weaveworks/net-plugin")  # no tag: docker's own name for it, :latest
    assert out == f"weaveworks/net-plugin:latest@{DIGEST}\n"


def test_a_digest_in_the_config_is_the_pin_and_no_registry_is_asked(host):
    code, out, _ = host("weave-pin", PINNED)
    assert (code, out, host.calls()) == (0, PINNED + "\n", [])


def test_a_registry_that_refuses_or_answers_no_digest_fails_the_pin_saying_so(host):
    code, out, err = host("weave-pin", PLUGIN, answer='{"message":"manifest unknown"}', fail="1")
    assert code == 1 and out == "" and "attempt 3 to find" in err and "manifest unknown" in err
    assert len(host.calls()) == 3  # three tries
    code, out, err = host("weave-pin", PLUGIN, answer='{"Descriptor":{}}')
    assert code == 1 and out == "" and "holds no digest" in err


def test_the_plugin_is_installed_from_its_digest_under_its_name_and_a_second_run_changes_nothing(host):
    code, _, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376")
    assert code == 0, err
    calls = host.calls()
    assert f"docker plugin install --grant-all-permissions --disable --alias {PLUGIN} {PINNED}" in calls
    assert calls[-1] == f"docker plugin enable {PLUGIN}" and f"curl http://localhost/plugins/{PLUGIN}/set" in calls
    assert host.state("ref") == f"docker.io/weaveworks/net-plugin@{DIGEST}" and host.state("enabled") == "true"
    assert host.state("env") == f"IPALLOC_RANGE=172.30.0.0/16\nWEAVE_MTU=1376\nWEAVE_PASSWORD={PASSWORD}\n"
    assert host.record.read_text() == f"{'f' * 64} {DIGEST}\n"
    assert f"{PLUGIN} is {DIGEST} (install by digest, Docker 28.5.2)" in err and PASSWORD not in err
    code, _, _ = host("weave-plugin", PINNED, "172.30.0.0/16", "1376")
    assert code == 0 and all(" inspect " in c for c in host.calls())  # only looked


def test_a_plugin_the_boot_installed_from_its_tag_is_upgraded_to_the_pinned_digest(host):
    host("weave-plugin", PINNED, "172.30.0.0/16", "1376")
    host.put("ref", f"docker.io/{PLUGIN}")  # as the first boot's `docker plugin install <tag>` leaves it ...
    host.record.unlink()  # ... with no record of this step's
    host.calls()
    code, _, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376")
    assert code == 0, err
    calls = host.calls()
    assert calls[calls.index(f"docker plugin disable --force {PLUGIN}") + 1:][:2] == [
        "docker version -f {{.Server.Version}}",
        f"docker plugin upgrade --grant-all-permissions --skip-remote-check {PLUGIN} {PINNED}"]
    assert host.state("ref") == f"docker.io/weaveworks/net-plugin@{DIGEST}" and host.state("enabled") == "true"
    assert f"{PLUGIN} is {DIGEST} (upgrade by digest" in err


@pytest.mark.parametrize("engine", ["20.10.24+dfsg1", "24.0.7", "25.0.2", "23.0.9"])
def test_an_engine_that_crashes_on_a_digest_pull_gets_the_tag_and_checks_its_digest(host, engine):
    """Docker before 23.0.10, 24.x and 25.0.0-25.0.2 panic pulling a plugin by digest (moby 74d51e8553)."""
    code, _, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376", engine=engine)
    assert code == 0, err
    assert f"docker plugin install --grant-all-permissions --disable --alias {PLUGIN} {PLUGIN}" in host.calls()
    assert host.record.read_text() == f"{'f' * 64} {DIGEST}\n" and host.state("enabled") == "true"
    assert f"{PLUGIN} is {DIGEST} (install by its tag, checked, Docker {engine})" in err
    # its reference names the tag: the record says it is the pinned one, so a second run changes nothing
    code, _, _ = host("weave-plugin", PINNED, "172.30.0.0/16", "1376", engine=engine)
    assert code == 0 and all(" inspect " in c for c in host.calls())


def test_a_tag_that_moved_is_refused_on_such_an_engine_and_left_disabled(host):
    moved = "sha256:" + "9" * 64
    code, out, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376", engine="20.10.24", tag_digest=moved)
    assert code == 1 and out == ""
    assert f"no longer the stack's pinned {DIGEST}" in err and f"Digest: {moved}" in err
    assert "Docker 25.0.3" in err and "--replace" in err
    assert host.state("enabled") == "false" and not host.record.exists()  # never enabled, never recorded
    code, _, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376", engine="20.10.24", tag_digest=moved)
    assert code == 1 and "no longer the stack's pinned" in err  # and so again: checked, not trusted


@pytest.mark.parametrize("engine", ["23.0.10", "25.0.3", "26.1.4", "28.5.2", "29.1.3"])
def test_an_engine_with_the_fix_pulls_the_digest_itself(host, engine):
    code, _, err = host("weave-plugin", PINNED, "172.30.0.0/16", "1376", engine=engine)
    assert code == 0, err
    assert f"docker plugin install --grant-all-permissions --disable --alias {PLUGIN} {PINNED}" in host.calls()


def test_a_reference_without_a_digest_is_refused_before_docker_is_asked(host):
    code, _, err = host("weave-plugin", PLUGIN, "172.30.0.0/16", "1376")
    assert code == 1 and "is not pinned by digest" in err and host.calls() == []
