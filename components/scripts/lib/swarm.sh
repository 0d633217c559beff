# shellcheck shell=bash
# lib/swarm.sh: what the steps that run on a swarm manager share. Functions only: sourcing it runs
# nothing.

# shellcheck source=log.sh
. "$(dirname "${BASH_SOURCE[0]}")/log.sh"  # include

# wait_for_leader: wait, up to 60 s, until the swarm has a leader; then go on either way (the next
# docker command says what is wrong). A manager that just lost its leader (one of the managers went
# down) refuses every swarm read and write with "The swarm does not have a leader" until the others
# elect one (10 heartbeats: swarmkit manager/state/raft ElectionTick).
wait_for_leader() {
  local attempt
  for attempt in $(seq 30); do
    docker node ls -q >/dev/null 2>&1 && break
    log "the swarm has no leader yet (attempt $attempt of 30), again in 2 s"
    sleep 2
  done
}

# require_node_id <id>: exit 1, saying so, unless <id> is a swarm node id (25 lowercase letters and
# digits, as `docker info --format '{{.Swarm.NodeID}}'` prints one). The ids come from the hosts:
# never let one be an option to docker, or more than one argument.
require_node_id() {
  [[ $1 =~ ^[a-z0-9]{25}$ ]] && return 0
  log "refusing '$1': not a swarm node id (25 lowercase letters and digits)"
  exit 1
}
