#!/usr/bin/env bash
# Pin the Weave Net plugin: print it as <name>:<tag>@sha256:<digest>, the form every node's
# weave-plugin.sh installs, so that every node runs the same plugin whatever its tag points to later.
# A reference with a digest already is printed as it is; a tag is resolved through the Docker Engine's
# distribution endpoint (GET /distribution/<name>/json: the registry's manifest descriptor for the tag,
# moby daemon/server/router/distribution/distribution_routes.go fetchManifest), which asks the
# registry and installs nothing. Read-only, so idempotent. Usage: weave-pin.sh <plugin-reference>
set -euo pipefail
plugin=$1
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/engine-api.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/engine-api.sh"  # include

if [[ $plugin == *@sha256:* ]]; then  # pinned in the config already
  echo "$plugin"
  exit 0
fi
name=$plugin
[[ ${name##*/} == *:* ]] || name=$name:latest  # as docker names a plugin given without a tag

for attempt in 1 2 3; do
  if answer=$(engine_get "http://localhost/distribution/$plugin/json"); then
    break
  fi
  log "attempt $attempt to find $plugin's digest failed: $answer"
  [ "$attempt" -lt 3 ] || exit 1
  sleep 5
done
# The answer's first digest is its Descriptor's ({"Descriptor":{"mediaType":...,"digest":...},"Platforms":[...]}).
digest=$(grep -o '"digest": *"sha256:[0-9a-f]\{64\}"' <<<"$answer" | head -n 1 | grep -o 'sha256:[0-9a-f]*') || true
if [ -z "$digest" ]; then
  log "the registry's answer for $plugin holds no digest: $answer"
  exit 1
fi
log "$name is $digest"
echo "$name@$digest"
