#!/usr/bin/env bash
# The Flink services' command when their state is in a bucket (flink.state gcs or azure). It runs in
# their containers, as the image's user (root in Flink's images: their entrypoint drops to flink),
# before the image's own entrypoint:
# - it enables Flink's filesystem plugin for the bucket, which the image's entrypoint does when given
#   the plugin's file name (ENABLE_BUILT_IN_PLUGINS, apache/flink-docker 1.20/scala_2.12-java17-ubuntu/
#   docker-entrypoint.sh:41-59); the name carries the image's Flink version, so it is looked up in
#   the image's opt/ here;
# - on Azure, it gives Flink the storage account's key (a Docker secret: a file) as
#   fs.azure.account.key.<account>.dfs.core.windows.net through FLINK_PROPERTIES, in this process
#   only, so the key is never in the service's spec; Flink shows the value as ****** in its REST API
#   and UI (flink-core GlobalConfiguration.java SENSITIVE_KEYS). On GCS the plugin reads the key file
#   itself (GOOGLE_APPLICATION_CREDENTIALS, a path in the service's spec; FLINK-25790).
# Then it runs the image's entrypoint with the service's command (jobmanager, taskmanager). It prints
# nothing of the key.
# Usage: flink-state-entry.sh <plugin> <credential file> <azure account | -> <entrypoint> <command...>
set -euo pipefail
plugin=$1 credential=$2 account=$3 entrypoint=$4
shift 4
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include

jars=("${FLINK_HOME:?}/opt/$plugin-"*.jar)
if [ ! -e "${jars[0]}" ]; then
  log "the image has no $FLINK_HOME/opt/$plugin-<version>.jar, which flink.state needs (Flink's own images have it)"
  exit 1
fi
export ENABLE_BUILT_IN_PLUGINS=${jars[0]##*/}
if [ "$account" != - ]; then
  key=$(<"$credential")
  FLINK_PROPERTIES="${FLINK_PROPERTIES:-}
fs.azure.account.key.$account.dfs.core.windows.net: $key"
  export FLINK_PROPERTIES
fi
exec "$entrypoint" "$@"
