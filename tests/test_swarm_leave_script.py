"""scripts/swarm-leave.sh after the leave: a daemon that keeps the swarm's gossip port (a Docker bug)
is found, run for real against a fake `docker` and a fake `ss` that holds the port for $HELD polls."""
import subprocess
from pathlib import Path

import pytest

from components import ports
from components.steps import script_text

FAKE_DOCKER = r'''#!/bin/bash
echo "docker $*" >>"$LOG"
case "$*" in
  *LocalNodeState*) echo active ;;
  *ControlAvailable*) echo false ;;
  "swarm leave --force") ;;
  *) echo "unexpected: docker $*" >&2; exit 1 ;;
esac
'''
FAKE_SS = r'''#!/bin/bash
echo "ss $*" >>"$LOG"
[ "$*" = "-Hltnp sport = :7946" ] || { echo "unexpected: ss $*" >&2; exit 1; }
if [ "$(grep -c '^ss ' "$LOG")" -le "$HELD" ]; then
  echo 'LISTEN 0 4096 *:7946 *:* users:(("dockerd",pid=812,fd=41))'
fi
'''


@pytest.fixture
def leave(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "ss").write_text(FAKE_SS)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")
    (bin_dir / "systemctl").write_text('#!/bin/bash\necho "systemctl $*" >>"$LOG"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    log = tmp_path / "log"

    def run(held: int, ss: bool = True):
        if not ss:
            (bin_dir / "ss").unlink()
        log.write_text("")
        done = subprocess.run(["bash", "-c", script_text("swarm-leave"), "swarm-leave", str(ports.SWARM_GOSSIP)],
                              capture_output=True, text=True,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "HELD": str(held)},
                              timeout=60)
        return done.returncode, done.stderr, log.read_text().splitlines()

    return run


def test_a_daemon_that_keeps_the_gossip_port_is_restarted_or_named_with_the_cure(leave):
    code, printed, calls = leave(held=1000)
    assert code == 0 and "docker swarm leave --force" in calls
    assert calls.count("ss -Hltnp sport = :7946") == 5  # it gives the daemon 5 s to let go
    assert "kept the swarm's gossip port 7946 after leaving" in printed
    if Path("/run/systemd/system").is_dir():  # a systemd host: the script restarts the daemon itself
        assert calls[-1] == "systemctl restart docker" and "restarted the Docker daemon" in printed
    else:
        assert "systemctl restart docker" not in calls and "restart it before this host joins" in printed


def test_a_daemon_that_lets_go_of_the_port_is_left_alone(leave):
    code, printed, calls = leave(held=2)
    assert code == 0 and calls.count("ss -Hltnp sport = :7946") == 3
    assert "7946" not in printed and printed.strip().endswith("left the swarm")


def test_without_ss_nothing_is_checked(leave):
    code, printed, calls = leave(held=1000, ss=False)
    assert code == 0 and "7946" not in printed
