#!/usr/bin/env bash
# On the control manager, when a node leaves the topology: drain it, demote it if it is a manager,
# and remove it from the node list. The host itself cannot: it hands over as it leaves (swarm-leave.sh).
# Idempotent: an unknown node is already gone.
# Usage: node-remove.sh <node-id>
set -euo pipefail
node=${1-}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/swarm.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/swarm.sh"  # include
# A manager leaving at the same time (destroy runs every host's swarm-leave.sh, which demotes a
# manager) can move the raft leadership while a write is in flight: swarmkit then refuses it with
# ErrLostLeadership, "node lost leader status", uncommitted (swarmkit manager/state/raft/raft.go), or
# finds no leader until the election ends (about 10 heartbeats). Such a write is safe to send again.
again() {
  local attempt
  for attempt in $(seq 15); do
    "$@" >/dev/null && return 0
    log "docker $2 $3 failed (attempt $attempt of 15), the swarm may be electing a leader: again in 2 s"
    sleep 2
  done
  return 1
}
require_node_id "$node"  # the id comes from a host: never let it be an option or more

if ! docker node inspect "$node" >/dev/null 2>&1; then
  log "$node is not in the swarm"
  exit 0
fi
if [ "$node" = "$(docker info --format '{{.Swarm.NodeID}}')" ]; then
  log "$node is this host: it demotes itself as it leaves"
  exit 0
fi
again docker node update --availability drain "$node"
for _ in $(seq 60); do
  [ -z "$(docker node ps "$node" --filter desired-state=running -q)" ] && break
  sleep 2
done
if [ "$(docker node inspect -f '{{.Spec.Role}}' "$node")" = manager ]; then
  again docker node demote "$node"
fi
again docker node rm --force "$node" || ! docker node inspect "$node" >/dev/null 2>&1  # gone all the same
log "drained and removed $node"
