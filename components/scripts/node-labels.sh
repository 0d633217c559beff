#!/usr/bin/env bash
# On a manager: set the swarm labels of every node in one session, 8 `docker node update` at a time,
# and forget nodes that are down and not in the topology (a manager that left after handing over
# control: no other step removes it). Idempotent. Usage: node-labels.sh <node-id>=<key=value,key=value>...
set -euo pipefail

for pair in "$@"; do  # the ids come from the hosts: never let one be an option or more
  if [[ ! ${pair%%=*} =~ ^[a-z0-9]{25}$ ]]; then
    echo "[flink-swarm] node-labels: refusing '${pair%%=*}': not a swarm node id (25 lowercase letters and digits)" >&2
    exit 1
  fi
done
# A manager that just lost its leader (one of the managers went down) refuses every swarm read and
# write with "The swarm does not have a leader" until the others elect one (10 heartbeats: swarmkit
# manager/state/raft ElectionTick). Wait for one, up to 60 s.
for attempt in $(seq 30); do
  docker node ls -q >/dev/null 2>&1 && break
  echo "[flink-swarm] $(basename "$0" .sh): the swarm has no leader yet (attempt $attempt of 30), again in 2 s" >&2
  sleep 2
done

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

listed=" ${*%%=*} "
while read -r node status; do
  if [ "$status" = down ] && [[ $listed != *" $node "* ]]; then
    docker node rm --force "$node" >/dev/null
    echo "[flink-swarm] node-labels: removed $node, down and not in the topology" >&2
  fi
done < <(docker node ls --format '{{.ID}} {{.Status}}' | tr '[:upper:]' '[:lower:]')
