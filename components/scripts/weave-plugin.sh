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
# "<plugin id> <digest>": what this step installed (fetch below); elsewhere in tests
RECORD=${FLINK_SWARM_WEAVE_RECORD:-/var/lib/flink-swarm/weave-plugin}
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

# fetch <install|upgrade>: the plugin, disabled, from the pinned digest. Engines before 23.0.10, 24.x
# and 25.0.0-25.0.2 crash pulling a plugin by digest (moby v20.10.24 plugin/fetch_linux.go:202-203,
# fixed by 74d51e8553 "plugins: fix panic installing from repo w/ digest"): there it comes from its
# tag, and the digest the pull reports ("Digest: ...", the same fetch_linux.go:205) must be the pin.
# Either way the plugin's id and digest are recorded, as the proof that it is the pinned one.
fetch() {
  local from=$pinned how=digest out version major patch
  version=$(docker version -f '{{.Server.Version}}')
  IFS=.+- read -r major _ patch _ <<<"$version"
  if ! ((major >= 26 || (major == 25 && patch >= 3) || (major == 23 && patch >= 10))); then
    from=$plugin how="its tag, checked"
  fi
  if [ "$1" = install ]; then
    out=$(docker plugin install --grant-all-permissions --disable --alias "$plugin" "$from")
  else
    out=$(docker plugin upgrade --grant-all-permissions --skip-remote-check "$plugin" "$from")
  fi
  if [ "$from" = "$plugin" ] && [[ $out != *"Digest: $digest"* ]]; then  # left disabled, unrecorded
    log "$plugin is no longer the stack's pinned $digest at its registry ($(grep -m 1 'Digest:' <<<"$out" ||
      echo 'no digest reported')), and Docker $version cannot install a plugin by digest: run Docker 25.0.3" \
      "or newer (dockerVersion), or take what the tag is now: pulumi up --replace <urn of swarm-weave-pin>"
    exit 1
  fi
  mkdir -p "$(dirname "$RECORD")"
  echo "$(docker plugin inspect -f '{{.Id}}' "$plugin") $digest" >"$RECORD"
  log "$plugin is $digest ($1 by $how, Docker $version)"
}

if docker plugin inspect "$plugin" >/dev/null 2>&1; then
  # Pulled by digest, a plugin's reference is <repository>@<digest> (moby daemon/pkg/plugin/backend_linux.go:258
  # Upgrade, :300-302 Pull); one from its tag (the first boot, a prebaked image) names the tag: then only
  # this step's record says whether it is the pinned one.
  if [[ $(docker plugin inspect -f '{{.PluginReference}}' "$plugin") != *"@$digest" &&
    $(cat "$RECORD" 2>/dev/null) != "$(docker plugin inspect -f '{{.Id}}' "$plugin") $digest" ]]; then
    docker plugin disable --force "$plugin" >/dev/null 2>&1 || true
    fetch upgrade
  fi
  env=$'\n'$(docker plugin inspect -f '{{range .Settings.Env}}{{println .}}{{end}}' "$plugin")$'\n'
  if [ "$(docker plugin inspect -f '{{.Enabled}}' "$plugin")" = true ] &&
    [[ $env == *$'\n'"IPALLOC_RANGE=$subnet"$'\n'* && $env == *$'\n'"WEAVE_MTU=$mtu"$'\n'* &&
      $env == *$'\n'"WEAVE_PASSWORD=$password"$'\n'* ]]; then
    exit 0
  fi
  docker plugin disable --force "$plugin" >/dev/null 2>&1 || true
else
  fetch install
fi
if ! err=$(set_env); then
  log "configuring $plugin failed: ${err//"$password"/<password>}"  # a failed step's error holds its output
  exit 1
fi
docker plugin enable "$plugin" >/dev/null
log "enabled $plugin with IPALLOC_RANGE=$subnet"
