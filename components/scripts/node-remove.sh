#!/usr/bin/env bash
# On the control manager, when a node leaves the topology: drain it, demote it if it is a manager,
# and remove it from the node list. The host itself cannot: it hands over as it leaves (swarm-leave.sh).
# Idempotent: an unknown node is already gone.
# Usage: node-remove.sh <node-id>
set -euo pipefail
node=${1-}
log() { echo "[flink-swarm] node-remove: $*" >&2; }
if [[ ! $node =~ ^[a-z0-9]{25}$ ]]; then  # the id comes from a host: never let it be an option or more
  log "refusing '$node': not a swarm node id (25 lowercase letters and digits)"
  exit 1
fi

if ! docker node inspect "$node" >/dev/null 2>&1; then
  log "$node is not in the swarm"
  exit 0
fi
if [ "$node" = "$(docker info --format '{{.Swarm.NodeID}}')" ]; then
  log "$node is this host: it demotes itself as it leaves"
  exit 0
fi
docker node update --availability drain "$node" >/dev/null
for _ in $(seq 60); do
  [ -z "$(docker node ps "$node" --filter desired-state=running -q)" ] && break
  sleep 2
done
if [ "$(docker node inspect -f '{{.Spec.Role}}' "$node")" = manager ]; then
  docker node demote "$node" >/dev/null
fi
docker node rm --force "$node" >/dev/null
log "drained and removed $node"
