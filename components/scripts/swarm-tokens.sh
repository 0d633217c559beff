#!/usr/bin/env bash
# Print the worker and the manager join token, one a line. The caller keeps stdout as a secret
# and out of the logs. Nothing is printed unless both are read: a failed step's error text holds
# its output (pulumi-command remote/commandOutputs.go:101), so it must never hold half of it.
set -euo pipefail
# A manager that just lost its leader (one of the managers went down) refuses every swarm read and
# write with "The swarm does not have a leader" until the others elect one (10 heartbeats: swarmkit
# manager/state/raft ElectionTick). Wait for one, up to 60 s.
for attempt in $(seq 30); do
  docker node ls -q >/dev/null 2>&1 && break
  echo "[flink-swarm] $(basename "$0" .sh): the swarm has no leader yet (attempt $attempt of 30), again in 2 s" >&2
  sleep 2
done
worker=$(docker swarm join-token -q worker)
manager=$(docker swarm join-token -q manager)
printf '%s\n%s\n' "$worker" "$manager"
