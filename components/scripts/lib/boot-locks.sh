# shellcheck shell=bash
# lib/boot-locks.sh: a cloud node's first boot (first-boot.sh) fetches the Flink image and the Weave
# plugin in the background, each under a lock; the steps that fetch the same (image-pull.sh,
# weave-plugin.sh) wait for it. Functions only: sourcing it runs nothing.

# shellcheck source=log.sh
. "$(dirname "${BASH_SOURCE[0]}")/log.sh"  # include

# boot_locks: the folder of the locks (/run/flink-swarm; $FLINK_SWARM_LOCKS in tests).
boot_locks() { echo "${FLINK_SWARM_LOCKS:-/run/flink-swarm}"; }

# wait_for_boot <lock> <what the boot does> <what the step does after 15 minutes>: wait, up to 15
# minutes, while the first boot holds <lock>.lock; nothing to wait for where no boot took it.
wait_for_boot() {
  local lock
  lock=$(boot_locks)/$1.lock
  if [ -e "$lock" ] && ! flock -w 900 "$lock" true; then
    log "the first boot's $2 still holds $lock after 15 minutes; $3"
  fi
}
