"""lib/metadata-guard.sh, run for real against a fake `iptables` and `systemctl` on PATH: the node's
containers are denied the cloud's metadata server (169.254.169.254) by one REJECT in Docker's DOCKER-USER
chain, put in place now and, where systemd runs Docker, at every start of docker.service (a drop-in).
The end-to-end check, with a real dockerd and a container, is in tests/e2e/test_host_scripts.py."""
import re
import subprocess
from pathlib import Path

import pytest

from components.steps import SCRIPTS, script_text

LIB = SCRIPTS / "lib" / "metadata-guard.sh"
ENTRYPOINT = SCRIPTS.parent / "local-host" / "entrypoint.sh"
RULE = "-d 169.254.169.254/32 -j REJECT"
DROPIN = "docker.service.d/flink-swarm-metadata.conf"

# An iptables stand-in: a chain is a file of rules, one a line, first rule first; records every call.
FAKE_IPTABLES = r'''#!/bin/bash
echo "$*" >>"$CALLS"
[ "$1" = -w ] && shift
case "$1" in
  -n) [ "$2" = -L ] && [ -f "$CHAINS/$3" ] ;;
  -N) if [ -f "$CHAINS/$2" ]; then echo "iptables: Chain already exists." >&2; exit 1; fi
      touch "$CHAINS/$2" ;;
  -C|-I)
    op=$1 chain=$2
    shift 2
    if [ ! -f "$CHAINS/$chain" ]; then echo "iptables: No chain/target/match by that name." >&2; exit 1; fi
    if [ "$op" = -C ]; then
      grep -qxF -- "$*" "$CHAINS/$chain" && exit 0
      echo "iptables: Bad rule (does a matching rule exist in that chain?)." >&2; exit 1
    fi
    { echo "$*"; cat "$CHAINS/$chain"; } >"$CHAINS/$chain.new" && mv "$CHAINS/$chain.new" "$CHAINS/$chain" ;;
  *) echo "the fake iptables does not do: $*" >&2; exit 2 ;;
esac
'''
FAKE_SYSTEMCTL = '#!/bin/sh\necho "systemctl $*" >>"$CALLS"\n'


@pytest.fixture
def host(tmp_path):
    """A fake host: `bin` (iptables, systemctl), `chains` (iptables' state), `units` (/etc/systemd/system),
    `running` (/run/systemd/system: there when systemd runs), `calls` (every iptables/systemctl call)."""
    for name in ("bin", "chains", "units", "running"):
        (tmp_path / name).mkdir()
    for name, text in (("iptables", FAKE_IPTABLES), ("systemctl", FAKE_SYSTEMCTL)):
        (tmp_path / "bin" / name).write_text(text)
        (tmp_path / "bin" / name).chmod(0o755)
    (tmp_path / "calls").touch()
    return tmp_path


def env(host: Path) -> dict[str, str]:
    return {"PATH": f"{host / 'bin'}:/usr/bin:/bin", "CHAINS": str(host / "chains"), "CALLS": str(host / "calls"),
            "FLINK_SWARM_SYSTEMD_UNITS": str(host / "units"), "FLINK_SWARM_SYSTEMD_RUNNING": str(host / "running")}


def guard(host: Path) -> subprocess.CompletedProcess:
    """`metadata_guard`, the library sourced from its file, as docker-install.sh calls it (set -euo pipefail)."""
    return subprocess.run(["bash", "-c", 'set -euo pipefail; . "$1"; metadata_guard', "docker-install", str(LIB)],
                          env=env(host), capture_output=True, text=True, timeout=30)


def chain(host: Path, name: str = "DOCKER-USER") -> list[str]:
    return (host / "chains" / name).read_text().splitlines()


def calls(host: Path) -> list[str]:
    return (host / "calls").read_text().splitlines()


def test_the_rule_goes_first_in_docker_user_once_and_docker_s_own_rules_stay(host):
    (host / "chains" / "DOCKER-USER").write_text("-j RETURN\n")  # Docker 20.10's, when Docker made the chain
    done = guard(host)
    assert done.returncode == 0, done.stderr
    assert chain(host) == [RULE, "-j RETURN"]
    assert "containers cannot reach the metadata server 169.254.169.254" in done.stderr
    assert done.stdout == ""


def test_the_chain_is_made_when_docker_has_not_made_it_yet(host):
    assert guard(host).returncode == 0
    assert chain(host) == [RULE]


def test_twice_changes_nothing_and_says_nothing(host):
    assert guard(host).returncode == 0
    dropin = host / "units" / DROPIN
    written = dropin.stat().st_mtime_ns, dropin.read_text()
    (host / "calls").write_text("")
    again = guard(host)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert chain(host) == [RULE]  # no second rule
    assert (dropin.stat().st_mtime_ns, dropin.read_text()) == written  # not rewritten
    assert calls(host) == [f"-w -C DOCKER-USER {RULE}"]  # one check: no reload, no insert


def test_the_drop_in_puts_the_rule_back_at_every_start_of_docker(host):
    assert guard(host).returncode == 0
    text = (host / "units" / DROPIN).read_text()
    assert "[Service]" in text.splitlines()
    starts = dict(re.findall(r"^(ExecStartPre|ExecStartPost)=(.*)$", text, re.M))
    assert set(starts) == {"ExecStartPre", "ExecStartPost"} and starts["ExecStartPre"] == starts["ExecStartPost"]
    command = starts["ExecStartPre"]
    assert command.startswith("/bin/sh -c '") and command.endswith("'") and command.count("'") == 2
    assert not re.search(r"[%$]", command)  # nothing for systemd to expand
    assert calls(host).count("systemctl daemon-reload") == 1
    # As systemd runs it after a reboot (no chain yet, Docker not started), then after Docker's start.
    for chains in ((), ("-j RETURN",)):
        for f in (host / "chains").iterdir():
            f.unlink()
        if chains:
            (host / "chains" / "DOCKER-USER").write_text("\n".join(chains) + "\n")
        for _ in range(2):  # Pre, then Post: the rule once
            run = subprocess.run(["sh", "-c", command[len("/bin/sh -c '"):-1]], env=env(host), capture_output=True,
                                 text=True, timeout=30)
            assert run.returncode == 0, run.stderr
        assert chain(host) == [RULE, *chains]


def test_a_changed_drop_in_is_rewritten_and_reloaded_once(host):
    dropin = host / "units" / DROPIN
    dropin.parent.mkdir(parents=True)
    dropin.write_text("[Service]\nExecStartPost=/bin/true\n")
    assert guard(host).returncode == 0
    assert "ExecStartPre=/bin/sh -c 'iptables" in dropin.read_text()
    assert calls(host).count("systemctl daemon-reload") == 1


def test_without_systemd_only_the_rule(host):
    (host / "running").rmdir()
    done = guard(host)
    assert done.returncode == 0, done.stderr
    assert chain(host) == [RULE]
    assert not (host / "units" / "docker.service.d").exists()
    assert not any(c.startswith("systemctl") for c in calls(host))


def test_a_rule_that_cannot_be_put_in_place_fails_the_step(host):
    (host / "bin" / "iptables").write_text('#!/bin/sh\necho "iptables: Permission denied (you must be root)." >&2\n'
                                           "exit 4\n")
    done = guard(host)
    assert done.returncode != 0
    assert "Permission denied" in done.stderr
    assert "cannot reach the metadata server" not in done.stderr


def test_docker_install_guards_last(host):
    """The `-docker` step (and a VM's first boot, which runs docker-install.sh) ends with the guard."""
    text = script_text("docker-install")
    assert text.rstrip().endswith("metadata_guard")
    for name, body in (("docker", "#!/bin/sh\nexit 0\n"), ("curl", "#!/bin/sh\nexit 0\n"),
                       ("id", '#!/bin/sh\necho "ubuntu docker"\n')):
        (host / "bin" / name).write_text(body)
        (host / "bin" / name).chmod(0o755)
    run = lambda: subprocess.run(["bash", "-c", text, "docker-install", "docker.io", "-", "ubuntu", "-"],  # noqa: E731
                                 env={**env(host), "FLINK_SWARM_AT_BOOT": "1"}, capture_output=True, text=True,
                                 timeout=60)
    first = run()
    assert first.returncode == 0, first.stderr
    assert chain(host) == [RULE]
    again = run()
    assert (again.returncode, again.stderr) == (0, "") and chain(host) == [RULE]


def test_a_local_node_puts_the_same_rule_in_before_its_dockerd_starts():
    """entrypoint.sh (no systemd: its network namespace is new at every start) has the library's rule."""
    text = ENTRYPOINT.read_text()
    assert f"iptables -w -C DOCKER-USER {RULE}" in text and f"iptables -w -I DOCKER-USER {RULE}" in text
    assert text.index("guard_metadata ||") < text.index("dockerd >>")
