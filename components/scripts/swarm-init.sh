#!/usr/bin/env bash
# Initialise the swarm on the first manager, advertising its public IP. Idempotent.
# Usage: swarm-init.sh <advertise-address>. Prints this node's swarm ID.
set -euo pipefail
advertise=$1
log() { echo "[flink-swarm] swarm-init: $*" >&2; }

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  [ "$state" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
  docker swarm init --advertise-addr "$advertise" --listen-addr 0.0.0.0:2377 >/dev/null
  log "swarm initialised, advertising $advertise"
elif [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
  log "this host is a worker of another swarm; run 'docker swarm leave' on it first"
  exit 1
fi
docker info --format '{{.Swarm.NodeID}}'
