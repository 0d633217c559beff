#!/usr/bin/env bash
# Pull an image ahead of the services that run it, while the swarm is still forming. Idempotent:
# pulling an image that is up to date changes nothing. Usage: image-pull.sh <image>
set -euo pipefail
image=$1
for attempt in 1 2 3; do
  if docker pull --quiet "$image" >/dev/null; then
    echo "[flink-swarm] image-pull: $image ready" >&2
    exit 0
  fi
  echo "[flink-swarm] image-pull: attempt $attempt to pull $image failed" >&2
  sleep 5
done
exit 1
