#!/bin/bash
# Small counterpart of the official flink image's docker-entrypoint.sh: apply the
# same settings (JOB_MANAGER_RPC_ADDRESS, TASK_MANAGER_NUMBER_OF_TASK_SLOTS and
# FLINK_PROPERTIES, one "key: value" per line) to conf/, then run
# `jobmanager` or `taskmanager` in the foreground, or any other command as given.
set -euo pipefail

options=(
    "-Djobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}"
    "-Dblob.server.port=6124"
    "-Dquery.server.port=6125"
)
if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    options+=("-Dtaskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}")
fi
while IFS= read -r line; do
    line="${line//[[:space:]]/}"
    if [ -n "$line" ]; then
        options+=("-D${line%%:*}=${line#*:}")
    fi
done <<< "${FLINK_PROPERTIES:-}"
"$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_HOME/conf" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "${options[@]}"

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
