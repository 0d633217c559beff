#!/usr/bin/env bash
# On the control manager, after `up` created or changed services (Flink's, monitoring's): wait until every task of
# each runs the service's current spec, and keeps running, or fail naming the service, its tasks'
# errors (`docker service ps --no-trunc`) and their containers' last log lines (Flink's own error).
# Usage: flink-ready.sh <timeout seconds> <revision> <service>=<tasks>...
#   <revision> names what is checked (a digest of the services' specs; logged, so that a change of
#   any spec runs the step again); <tasks> is how many running tasks the service should have at least
#   (a worker being removed runs its taskmanager until the deletes, which `up` makes last).
# A service is ready when it has that many tasks Running, none of them failed in the last STABLE_LOOKS
# looks (3 s apart), and its update (if one is under way) completed: swarm rolls a failed update back
# (the services' update_config: failure_action rollback, components/services.py), so a rolled-back
# or paused update is a failure even when the old tasks run again. Three new failed tasks of one
# service fail the step at once (its restart policy restarts it every 5 s: no need to wait out the bound).
# Read-only: running it twice changes nothing.
set -euo pipefail
# shellcheck source=lib/swarm.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/swarm.sh"  # include
timeout=$1 revision=$2
shift 2
STABLE_LOOKS=3
MAX_FAILURES=3

failed_tasks() {  # the ids of the service's failed or rejected tasks that swarm still keeps
  docker service ps "$1" --format '{{.ID}} {{.CurrentState}}' | awk '$2 == "Failed" || $2 == "Rejected" {print $1}'
}

diagnose() {  # <service> <problem>: say what is wrong, with the tasks' errors and the last log lines
  local service=$1 task        # of the task that failed last since the step began (else the service's)
  log "$service: $2"
  echo "--- docker service ps --no-trunc $service"
  docker service ps --no-trunc "$service" \
    --format '{{.Name}} on {{.Node}}: {{.CurrentState}} (desired {{.DesiredState}}) {{.Error}}' | head -n 12
  task=$(failed_tasks "$service" | grep -vxF -f <(echo "${earlier[$service]}") | head -n 1) || true
  echo "--- the last log lines of ${task:+its failed task $task, }$service"
  docker service logs --no-task-ids --tail 25 "${task:-$service}" 2>&1 | tail -n 40
  exit 1
}

wait_for_leader
log "checking the services (revision $revision), for up to $timeout s"
declare -A expected earlier failures
for pair in "$@"; do
  expected[${pair%%=*}]=${pair#*=}
  earlier[${pair%%=*}]=$(failed_tasks "${pair%%=*}")
  failures[${pair%%=*}]=0
done
deadline=$((SECONDS + timeout))
ready_looks=0
while :; do
  waiting="" first=""
  for service in "${!expected[@]}"; do
    update=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$service")
    case $update in
      rollback_*|paused)
        diagnose "$service" "its update failed and was $update: $(docker service inspect \
          --format '{{.UpdateStatus.Message}}' "$service")" ;;
    esac
    new=$(comm -13 <(sort <<<"${earlier[$service]}") <(failed_tasks "$service" | sort) | grep -c . || true)
    [ "$new" -lt "$MAX_FAILURES" ] || diagnose "$service" "$new of its tasks failed since this step began"
    running=$(docker service ps "$service" --filter desired-state=running --format '{{.CurrentState}}' \
      | grep -c '^Running' || true)
    if [ "$update" = updating ] || [ "$running" -lt "${expected[$service]}" ] || [ "$new" -ne "${failures[$service]}" ]
    then
      waiting+=" $service ($running of ${expected[$service]} tasks running${update:+, update $update})"
      first=${first:-$service}
      failures[$service]=$new  # a task that failed since the last look: stable again only from now on
    fi
  done
  if [ -z "$waiting" ]; then
    ready_looks=$((ready_looks + 1))
    if [ "$ready_looks" -ge "$STABLE_LOOKS" ]; then
      log "every service runs its tasks (${*})"
      exit 0
    fi
  else
    ready_looks=0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    diagnose "$first" "not ready after $timeout s: waiting for$waiting"
  fi
  sleep 3
done
