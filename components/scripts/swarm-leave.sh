#!/usr/bin/env bash
# Leave the swarm (a node removed, or destroy). A manager first hands over: it demotes itself while
# other managers remain, so the swarm keeps its quorum; the last manager leaves, ending the swarm.
# Idempotent: a host outside any swarm is left alone.
set -euo pipefail
log() { echo "[flink-swarm] swarm-leave: $*" >&2; }
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
