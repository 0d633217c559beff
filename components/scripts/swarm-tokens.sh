#!/usr/bin/env bash
# Print the worker and the manager join token, one a line. The caller keeps stdout as a secret
# and out of the logs. Nothing is printed unless both are read: a failed step's error text holds
# its output (pulumi-command remote/commandOutputs.go:101), so it must never hold half of it.
set -euo pipefail
# shellcheck source=lib/swarm.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/swarm.sh"  # include

wait_for_leader  # a manager that just lost its leader refuses every swarm read until there is one
worker=$(docker swarm join-token -q worker)
manager=$(docker swarm join-token -q manager)
printf '%s\n%s\n' "$worker" "$manager"
