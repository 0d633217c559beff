#!/usr/bin/env bash
# On a manager: set the swarm labels of every node in one session, 8 `docker node update` at a time.
# Idempotent. Usage: node-labels.sh <node-id>=<key=value,key=value>...
set -euo pipefail

label_node() {
  local node=${1%%=*} labels=${1#*=} label args=()
  local -a pairs
  IFS=, read -ra pairs <<<"$labels"
  for label in "${pairs[@]}"; do
    args+=(--label-add "$label")
  done
  docker node update "${args[@]}" "$node" >/dev/null
}
export -f label_node

# shellcheck disable=SC2016  # "$1" expands in the child shell, not here
printf '%s\n' "$@" | xargs -P 8 -I{} bash -c 'label_node "$1"' _ {}
echo "[flink-swarm] node-labels: labelled $# nodes" >&2
