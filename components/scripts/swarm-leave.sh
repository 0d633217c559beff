#!/usr/bin/env bash
# Leave the swarm (on destroy). Idempotent: a host outside any swarm is left alone.
set -euo pipefail
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != inactive ]; then
  docker swarm leave --force >/dev/null
  echo "[flink-swarm] swarm-leave: left the swarm" >&2
fi
