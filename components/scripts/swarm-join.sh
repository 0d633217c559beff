#!/usr/bin/env bash
# Join the swarm through any of its managers, advertising this node's own public IP. The join token
# comes on stdin and goes to the Docker Engine API on its unix socket in the request body, on curl's
# stdin: never on a command line, where every user of the host could read it (`ps`) for as long as the
# join retries. Idempotent: a node already in the swarm (the control manager, which made it) stays as
# it is. Prints this node's swarm ID.
# Usage: swarm-join.sh <advertise-address> <managers as address:2377,...|-> < token
set -euo pipefail
advertise=$1 managers=${2#-}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/engine-api.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/engine-api.sh"  # include
IFS= read -r token || [ -n "$token" ]
if [[ ! $token =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]]; then
  log "the join token on stdin is not a swarm join token"
  exit 1
fi

# POST /swarm/join (Engine API) through one manager, the body on stdin; prints the daemon's answer.
join() {
  printf '{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s"],"JoinToken":"%s"}' \
    "$advertise" "$1" "$token" |
    engine_post http://localhost/swarm/join
}

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  if [ -z "$managers" ]; then
    log "no manager to join through (this host should have initialised the swarm)"
    exit 1
  fi
  [ "$state" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
  joined=""
  for attempt in $(seq 30); do
    for manager in ${managers//,/ }; do  # any manager will do: one may be down
      if err=$(join "$manager"); then
        joined=$manager
        break 2
      fi
      log "attempt $attempt to join through $manager failed: ${err//"$token"/<token>}"
      [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
    done
    sleep 10
  done
  if [ -z "$joined" ]; then
    log "no manager ($managers) let this node join"
    exit 1
  fi
  log "joined through $joined, advertising $advertise"
fi
docker info --format '{{.Swarm.NodeID}}'
