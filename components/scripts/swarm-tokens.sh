#!/usr/bin/env bash
# Print the worker and the manager join token, one a line. The caller keeps stdout as a secret
# and out of the logs.
set -euo pipefail
docker swarm join-token -q worker
docker swarm join-token -q manager
