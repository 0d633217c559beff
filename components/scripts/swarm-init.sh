#!/usr/bin/env bash
# Initialise the swarm on the control manager, advertising its public IP, unless it is in it already.
# Never a second swarm: if another manager of the topology answers on the swarm port, this host is
# to join that swarm (as every node does), not to start one. Idempotent. Prints the swarm's cluster id.
# Usage: swarm-init.sh <advertise-address> <other managers as address:2377,...|->
set -euo pipefail
advertise=$1 others=${2#-}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  for endpoint in ${others//,/ }; do
    if timeout 3 bash -c "echo > /dev/tcp/${endpoint%:*}/${endpoint##*:}" 2>/dev/null; then
      log "the manager at $endpoint runs a swarm already: this host must join it, not start another;" \
        "set flink-swarm:controlManager to a manager of that swarm (docs/operations.md \"Managers\")"
      exit 1
    fi
  done
  [ "$state" = inactive ] || docker swarm leave --force >/dev/null 2>&1 || true
  docker swarm init --advertise-addr "$advertise" --listen-addr 0.0.0.0:2377 >/dev/null
  log "swarm initialised, advertising $advertise"
elif [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
  log "this host is a worker of a swarm, not a manager: set flink-swarm:controlManager to a manager"
  exit 1
fi
docker info --format '{{.Swarm.Cluster.ID}}'
