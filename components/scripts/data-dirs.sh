#!/usr/bin/env bash
# Directories of a node that outlive the services mounting them (Prometheus's samples, Grafana's
# database), each owned by its image's user and closed to everyone else. Idempotent: a second run
# changes nothing. Removing the stack keeps them; remove them by hand when they are not wanted.
# Usage: data-dirs.sh <dir>:<uid>...
set -euo pipefail
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include

for pair in "$@"; do
  dir=${pair%:*} uid=${pair##*:}
  if [[ $dir != /* || ! $uid =~ ^[0-9]+$ ]]; then
    log "refusing '$pair': not <absolute dir>:<numeric uid>"
    exit 2
  fi
  install -d -m 0700 -o "$uid" -g "$uid" "$dir"
done
log "data directories ready: ${*}"
