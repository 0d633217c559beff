#!/usr/bin/env bash
# On the jobmanager's node, after flink-ready: wait until Flink serves, its REST API (published on
# this node in host mode) answering with the expected taskmanagers registered and their slots, or
# fail saying what it answered and the jobmanager container's last log lines; then, given its port, until
# the SQL gateway (published here too) answers `GET /v1/info` (flink-sql-gateway rest/header/util/
# GetInfoHeaders.java: URL "/info", under the API version's /v1), or fail with its last log lines.
# Usage: flink-serving.sh <timeout seconds> <port> <jobmanager service> <taskmanagers> <slots in all> <revision> [<gateway port>]
# `GET /overview` answers {"taskmanagers": N, "slots-total": M, ...} (Flink 1.20 flink-runtime
# rest/handler/legacy/messages/ClusterOverviewWithVersion.java, fields of ClusterOverview.java:
# FIELD_NAME_TASKMANAGERS "taskmanagers", FIELD_NAME_SLOTS_TOTAL "slots-total"). At least N: a
# worker being removed runs its taskmanager until the deletes, which `up` makes last.
# Read-only: running it twice changes nothing.
set -euo pipefail
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
timeout=$1 port=$2 service=$3 taskmanagers=$4 slots=$5 revision=$6 gateway=${7:-}

last_logs() {  # <service>: its container's last log lines on this node
  local container
  container=$(docker ps -q --filter "label=com.docker.swarm.service.name=$1" | head -n 1)
  if [ -n "$container" ]; then
    echo "--- the last log lines of $1"
    docker logs --tail 30 "$container" 2>&1
  fi
}

gateway_serves() {  # waits for the SQL gateway on port $gateway until the deadline
  local said="no answer yet"
  log "waiting for the SQL gateway on port $gateway"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if said=$(curl -fsS --max-time 5 "http://127.0.0.1:$gateway/v1/info" 2>&1); then
      log "the SQL gateway serves: $said"
      return 0
    fi
    sleep 2
  done
  log "the SQL gateway does not answer after $timeout s: $said"
  last_logs sql-gateway
  return 1
}

field() {  # <json> <name>: the number the object gives the field, or "?"
  local found
  found=$(grep -o "\"$2\":[0-9]*" <<<"$1" | head -n 1) || true
  if [ -n "$found" ]; then echo "${found#*:}"; else echo "?"; fi
}

log "waiting for Flink's REST API on port $port: at least $taskmanagers taskmanager(s), $slots slot(s) (revision $revision)"
deadline=$((SECONDS + timeout))
answer="no answer yet"
while [ "$SECONDS" -lt "$deadline" ]; do
  if overview=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/overview" 2>&1); then
    seen=$(field "$overview" taskmanagers) total=$(field "$overview" slots-total)
    answer="$seen taskmanager(s), $total slot(s)"
    if [[ $seen =~ ^[0-9]+$ && $total =~ ^[0-9]+$ ]] && [ "$seen" -ge "$taskmanagers" ] && [ "$total" -ge "$slots" ]
    then
      log "Flink serves: $answer"
      if [ -z "$gateway" ] || gateway_serves; then exit 0; fi
      exit 1
    fi
  else
    answer=$overview
  fi
  sleep 3
done
log "Flink does not serve as expected after $timeout s: wanted at least $taskmanagers taskmanager(s) and $slots slot(s), last answer: $answer"
last_logs "$service"
exit 1
