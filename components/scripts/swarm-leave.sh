#!/usr/bin/env bash
# Leave the swarm (a node removed, or destroy). A manager first hands over: it demotes itself while
# other managers remain, so the swarm keeps its quorum; the last manager leaves, ending the swarm.
# Idempotent: a host outside any swarm is left alone.
# Usage: swarm-leave.sh <gossip port>
set -euo pipefail
gossip=$1
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != inactive ] || exit 0

if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] &&
  [ "$(docker info --format '{{.Swarm.Managers}}')" -gt 1 ]; then
  self=$(docker info --format '{{.Swarm.NodeID}}')
  if docker node demote "$self" >/dev/null 2>&1; then
    for _ in $(seq 30); do  # until this node knows it is a worker
      [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ] && break
      sleep 1
    done
    log "demoted this manager"
  fi
fi
docker swarm leave --force >/dev/null
log "left the swarm"

# Docker's own bug: when the leave's gossip broadcast times out (every node leaving at once, as on
# destroy), the daemon returns before it shuts its memberlist down (moby libnetwork networkdb/
# cluster.go, clusterLeave: `if err := mlist.Leave(time.Second); err != nil { return err }` comes
# before `mlist.Shutdown()`; the daemon logs "Could not close DB: timeout waiting for leave
# broadcast"). It then keeps the gossip port (7946) until it restarts, and its next swarm has no
# gossip: "error in agentInit ... bind: address already in use", and its overlay networks resolve no
# service of another node. Seen on the end-to-end hosts in 7 of 8 destroys.
gossip_held() { command -v ss >/dev/null && ss -Hltnp "sport = :$gossip" | grep -q '"dockerd"'; }
for _ in $(seq 5); do
  gossip_held || exit 0
  sleep 1
done
if [ -d /run/systemd/system ]; then
  systemctl restart docker
  log "restarted the Docker daemon: it kept the swarm's gossip port $gossip after leaving (a Docker bug)"
else
  log "the Docker daemon kept the swarm's gossip port $gossip after leaving (a Docker bug): restart it before this host joins a swarm again, or its overlay networks will resolve no service of another node"
fi
