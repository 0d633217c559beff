#!/usr/bin/env bash
# Install the Weave Net plugin disabled, configure it, then enable it. The Weave password comes on
# stdin and is never printed. Idempotent: a plugin already enabled with these settings is left alone.
# Usage: weave-plugin.sh <plugin-image> <ipalloc-range> <mtu> < password
set -euo pipefail
plugin=$1 subnet=$2 mtu=$3
log() { echo "[flink-swarm] weave-plugin: $*" >&2; }
IFS= read -r password || [ -n "$password" ]

if docker plugin inspect "$plugin" >/dev/null 2>&1; then
  env=$(docker plugin inspect -f '{{range .Settings.Env}}{{println .}}{{end}}' "$plugin")
  if [ "$(docker plugin inspect -f '{{.Enabled}}' "$plugin")" = true ] &&
    grep -qxF "IPALLOC_RANGE=$subnet" <<<"$env" && grep -qxF "WEAVE_MTU=$mtu" <<<"$env" &&
    grep -qxF "WEAVE_PASSWORD=$password" <<<"$env"; then
    exit 0
  fi
  docker plugin disable --force "$plugin" >/dev/null 2>&1 || true
else
  docker plugin install --grant-all-permissions --disable "$plugin" >/dev/null
  log "installed $plugin"
fi
if ! err=$(docker plugin set "$plugin" "IPALLOC_RANGE=$subnet" "WEAVE_MTU=$mtu" "WEAVE_PASSWORD=$password" 2>&1); then
  log "configuring $plugin failed: ${err//$password/<password>}"  # a failed step's error holds its output
  exit 1
fi
docker plugin enable "$plugin" >/dev/null
log "enabled $plugin with IPALLOC_RANGE=$subnet"
