#!/usr/bin/env bash
# On the control manager, when the Flink services go (destroy): wait until the tasks of removed
# services have stopped, so that ZooKeeper goes only after the jobmanager and taskmanagers it serves.
# A jobmanager stopped while ZooKeeper runs closes its session, and its leadership with it (Flink's
# shutdown hook closes the HA services and keeps their data: flink-runtime ClusterEntrypoint's
# constructor, ShutdownHookUtil.addShutdownHook(() -> this.closeAsync().join(), ...)). A session left
# open when ZooKeeper stops is restored from ZooKeeper's data when it starts again (the next `up`),
# and the next jobmanager is not leader until that session expires: the session timeout, 20 s, which
# the end-to-end hosts saw as 17 s of a warm up's 39 s. Removing a service returns at once; swarm
# keeps its tasks, desired state Remove (moby/swarmkit manager/orchestrator/service.go,
# SetServiceTasksRemove), until their nodes report them stopped and the task reaper deletes them
# (3.5-4 s there).
# Gives up after 60 s (a node that is down never reports): the jobmanager then waits out the session.
# Idempotent: with nothing being removed, or no swarm, it returns at once.
set -euo pipefail
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] || exit 0

stopping() {
  local nodes
  mapfile -t nodes < <(docker node ls -q)
  docker node ps "${nodes[@]}" --format '{{.DesiredState}}' | grep -c '^Remove$' || true
}
for _ in $(seq 60); do
  left=$(stopping)
  if [ "$left" -eq 0 ]; then
    log "no task of a removed service is running"
    exit 0
  fi
  sleep 1
done
log "$left task(s) of removed services still running after 60 s (a node down?): going on"
