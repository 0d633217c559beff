#!/usr/bin/env bash
# Install the Weave Net plugin pinned by digest (weave-pin.sh's <name>:<tag>@sha256:<digest>) under its
# name (<name>:<tag>, the network's driver), disabled; configure it, then enable it. The Weave password
# comes on stdin and goes to the Docker Engine API on its unix socket in the request body, on curl's
# stdin: never on a command line (`ps`), never printed. Idempotent: the plugin already installed from
# that digest and enabled with these settings is left alone.
# Usage: weave-plugin.sh <name:tag@sha256:digest> <ipalloc-range> <mtu> < password
set -euo pipefail
pinned=$1 subnet=$2 mtu=$3
plugin=${pinned%@*} digest=${pinned##*@}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/engine-api.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/engine-api.sh"  # include
# shellcheck source=lib/boot-locks.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/boot-locks.sh"  # include
if [[ $pinned != *@sha256:* ]]; then
  log "$pinned is not pinned by digest (<name>:<tag>@sha256:<digest>, as weave-pin.sh prints it)"
  exit 1
fi
IFS= read -r password || [ -n "$password" ]

# A cloud node's first boot may be installing the plugin already (first-boot.sh): wait for that first.
wait_for_boot plugin "plugin install" "going on"

# POST /plugins/<name>/set with ["KEY=value", ...] (Engine API); prints the daemon's answer.
set_env() {
  local json=${password//\\/\\\\}
  json=${json//\"/\\\"}
  printf '["IPALLOC_RANGE=%s","WEAVE_MTU=%s","WEAVE_PASSWORD=%s"]' "$subnet" "$mtu" "$json" |
    engine_post "http://localhost/plugins/$plugin/set"
}

if docker plugin inspect "$plugin" >/dev/null 2>&1; then
  # Pulled by digest, a plugin's reference is <repository>@<digest> (moby daemon/pkg/plugin/backend_linux.go:258
  # Upgrade, :300-302 Pull); one installed from its tag (the first boot, a prebaked image) names the tag.
  if [[ $(docker plugin inspect -f '{{.PluginReference}}' "$plugin") != *"@$digest" ]]; then
    docker plugin disable --force "$plugin" >/dev/null 2>&1 || true
    docker plugin upgrade --grant-all-permissions --skip-remote-check "$plugin" "$pinned" >/dev/null
    log "upgraded $plugin to $digest"
  fi
  env=$'\n'$(docker plugin inspect -f '{{range .Settings.Env}}{{println .}}{{end}}' "$plugin")$'\n'
  if [ "$(docker plugin inspect -f '{{.Enabled}}' "$plugin")" = true ] &&
    [[ $env == *$'\n'"IPALLOC_RANGE=$subnet"$'\n'* && $env == *$'\n'"WEAVE_MTU=$mtu"$'\n'* &&
      $env == *$'\n'"WEAVE_PASSWORD=$password"$'\n'* ]]; then
    exit 0
  fi
  docker plugin disable --force "$plugin" >/dev/null 2>&1 || true
else
  docker plugin install --grant-all-permissions --disable --alias "$plugin" "$pinned" >/dev/null
  log "installed $plugin from $digest"
fi
if ! err=$(set_env); then
  log "configuring $plugin failed: ${err//"$password"/<password>}"  # a failed step's error holds its output
  exit 1
fi
docker plugin enable "$plugin" >/dev/null
log "enabled $plugin with IPALLOC_RANGE=$subnet"
