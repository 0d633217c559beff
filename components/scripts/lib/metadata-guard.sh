# shellcheck shell=bash
# lib/metadata-guard.sh: the node's containers cannot reach the cloud's metadata server, the host still
# can. Functions only: sourcing it runs nothing.
#
# GCP's metadata server (169.254.169.254, metadata.google.internal) hands the VM's user data, which
# holds the node's SSH host private key (cloud-init `ssh_keys`), to any process that asks; Azure's IMDS
# at the same address hands out managed-identity tokens. A Flink job is such a process. Every
# container's traffic to an outside address is forwarded by the host, through the FORWARD chain:
# bridge networks, and overlay and Weave networks alike, whose containers get their default route
# through docker_gwbridge (moby daemon/libnetwork/default_gateway.go:20-32; Weave's plugin answers a
# join with no gateway, weaveworks/weave plugin/net/driver.go JoinEndpoint). Docker jumps from the top
# of FORWARD to DOCKER-USER, which it creates if missing and never flushes (moby v29
# daemon/libnetwork/firewall_linux.go:62-80, setupUserChain; NewChain keeps an existing chain,
# daemon/libnetwork/iptables/iptables.go:174-181; EnsureJumpRule puts the jump first, :449-459).
# A REJECT there for 169.254.169.254/32 closes the metadata server to every container, quickly (a
# TCP connect is refused, not left to time out); the host's own traffic (OUTPUT: cloud-init, the
# guest agents) never passes FORWARD. The kernel's rules are gone after a reboot, so where systemd
# runs Docker a drop-in puts the rule back at every start of docker.service; a local node, which has
# no systemd, does the same in its entrypoint (components/local-host/entrypoint.sh).
# Not covered: containers on the host's own network (`--network host`: none of the program's), IPv6
# (Docker's networks have none unless enabled), Docker's nftables firewall backend (no DOCKER-USER).

# shellcheck source=log.sh
. "$(dirname "${BASH_SOURCE[0]}")/log.sh"  # include

# metadata_guard_rule: the rule's match and target, as iptables takes them after `<-C|-I> DOCKER-USER`.
metadata_guard_rule() { echo "-d 169.254.169.254/32 -j REJECT"; }

# metadata_guard_command: one sh command line that puts the rule in place unless it is there: the chain
# made if Docker has not made it yet (Docker keeps it, and its rules), the rule checked (-C), then
# inserted first (-I). Used as is by the drop-in and here.
metadata_guard_command() {
  local rule
  rule=$(metadata_guard_rule)
  echo "iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || iptables -w -N DOCKER-USER;" \
    "iptables -w -C DOCKER-USER $rule 2>/dev/null || iptables -w -I DOCKER-USER $rule"
}

# metadata_guard_dropin: the drop-in's path ($FLINK_SWARM_SYSTEMD_UNITS in tests: /etc/systemd/system).
metadata_guard_dropin() {
  echo "${FLINK_SWARM_SYSTEMD_UNITS:-/etc/systemd/system}/docker.service.d/flink-swarm-metadata.conf"
}

# metadata_guard_dropin_text: the drop-in. ExecStartPre puts the rule in before dockerd starts, so that
# no container (a restart policy's, a swarm task) runs without it; ExecStartPost again once Docker has
# set up its chains. Without the `-` prefix a failure fails docker.service: no containers unguarded.
metadata_guard_dropin_text() {
  local command
  command=$(metadata_guard_command)
  printf '%s\n' "# flink-swarm: the containers cannot reach the cloud's metadata server (169.254.169.254)" \
    "# (components/scripts/lib/metadata-guard.sh, written by docker-install.sh)" \
    "[Service]" "ExecStartPre=/bin/sh -c '$command'" "ExecStartPost=/bin/sh -c '$command'"
}

# metadata_guard: where systemd runs, write the drop-in if it differs (then `systemctl daemon-reload`);
# put the rule in place now. Idempotent: a second run changes nothing and says nothing. Fails when the
# rule cannot be put in place (iptables' own message on stderr).
metadata_guard() {
  local dropin want rule
  if [ -d "${FLINK_SWARM_SYSTEMD_RUNNING:-/run/systemd/system}" ]; then
    dropin=$(metadata_guard_dropin)
    want=$(metadata_guard_dropin_text)
    if [ "$(cat "$dropin" 2>/dev/null)" != "$want" ]; then
      mkdir -p "${dropin%/*}"
      printf '%s\n' "$want" >"$dropin"
      systemctl daemon-reload
      log "docker.service closes the metadata server to containers at every start ($dropin)"
    fi
  fi
  rule=$(metadata_guard_rule)
  # shellcheck disable=SC2086 # $rule is words, none with a glob
  if ! iptables -w -C DOCKER-USER $rule 2>/dev/null; then
    sh -c "$(metadata_guard_command)"
    log "containers cannot reach the metadata server 169.254.169.254 (iptables DOCKER-USER: REJECT)"
  fi
}
