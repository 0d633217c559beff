#!/usr/bin/env bash
# Join the swarm, advertising this node's own public IP. The join token comes on stdin.
# Idempotent: a node already in the swarm stays as it is. Prints this node's swarm ID.
# Usage: swarm-join.sh <advertise-address> <manager-address:2377> < token
set -euo pipefail
advertise=$1 manager=$2
log() { echo "[flink-swarm] swarm-join: $*" >&2; }
IFS= read -r token || [ -n "$token" ]

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  [ "$state" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
  for attempt in $(seq 30); do
    if err=$(docker swarm join --token "$token" --advertise-addr "$advertise" \
        --listen-addr 0.0.0.0:2377 "$manager" 2>&1 >/dev/null); then
      log "joined through $manager, advertising $advertise"
      break
    fi
    log "attempt $attempt to join through $manager failed: ${err//$token/<token>}"
    [ "$attempt" -lt 30 ] || exit 1
    [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
    sleep 10
  done
fi
docker info --format '{{.Swarm.NodeID}}'
