#!/usr/bin/env bash
# On a manager: set the swarm labels of every node in one session, 8 `docker node update` at a time,
# and forget nodes that are down and not in the topology (a manager that left after handing over
# control: no other step removes it). Idempotent. Usage: node-labels.sh <node-id>=<key=value,key=value>...
set -euo pipefail
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/swarm.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/swarm.sh"  # include

for pair in "$@"; do  # the ids come from the hosts: never let one be an option or more
  require_node_id "${pair%%=*}"
done
wait_for_leader  # a manager that just lost its leader refuses every swarm read and write until there is one

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
log "labelled $# nodes"

listed=" ${*%%=*} "
while read -r node status; do
  if [ "$status" = down ] && [[ $listed != *" $node "* ]]; then
    docker node rm --force "$node" >/dev/null
    log "removed $node, down and not in the topology"
  fi
done < <(docker node ls --format '{{.ID}} {{.Status}}' | tr '[:upper:]' '[:lower:]')
