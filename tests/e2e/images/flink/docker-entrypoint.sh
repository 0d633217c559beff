#!/bin/bash
# Small counterpart of the official flink image's docker-entrypoint.sh: apply the
# same settings (JOB_MANAGER_RPC_ADDRESS, TASK_MANAGER_NUMBER_OF_TASK_SLOTS and
# FLINK_PROPERTIES, one "key: value" per line) to conf/, then run
# `jobmanager` or `taskmanager` in the foreground, or any other command as given.
# Like the official one (apache/flink-docker 1.20 docker-entrypoint.sh, prepare_configuration
# and process_flink_properties), it runs Flink's config parser, a JVM, twice: once for the
# addresses, ports and slots, once for FLINK_PROPERTIES; a container's start costs as much here.
set -euo pipefail

parse() { "$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_HOME/conf" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "$@"; }

options=(
    "-Djobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}"
    "-Dblob.server.port=6124"
    "-Dquery.server.port=6125"
)
if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    options+=("-Dtaskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}")
fi
parse "${options[@]}"
properties=()
while IFS= read -r line; do
    line="${line//[[:space:]]/}"
    if [ -n "$line" ]; then
        properties+=("-D${line%%:*}=${line#*:}")
    fi
done <<< "${FLINK_PROPERTIES:-}"
if [ ${#properties[@]} -gt 0 ]; then
    parse "${properties[@]}"
fi

case "${1:-help}" in
    jobmanager)
        shift
        exec "$FLINK_HOME/bin/jobmanager.sh" start-foreground "$@" ;;
    taskmanager)
        shift
        exec "$FLINK_HOME/bin/taskmanager.sh" start-foreground "$@" ;;
    help)
        echo "Usage: $(basename "$0") (jobmanager|taskmanager|COMMAND...)" ;;
    *)
        exec "$@" ;;
esac
