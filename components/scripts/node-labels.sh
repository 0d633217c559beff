#!/usr/bin/env bash
# On a manager: set swarm labels on a node. Idempotent.
# Usage: node-labels.sh <node-id> key=value...
set -euo pipefail
node=$1
shift
args=()
for label in "$@"; do
  args+=(--label-add "$label")
done
docker node update "${args[@]}" "$node" >/dev/null
echo "[flink-swarm] node-labels: $node $*" >&2
