# shellcheck shell=bash
# lib/apt.sh: apt-get on a host that may be running apt itself (a cloud VM's first boot: cloud-init,
# apt-daily). Functions only: sourcing it runs nothing.

# shellcheck source=log.sh
. "$(dirname "${BASH_SOURCE[0]}")/log.sh"  # include

# apt_get <apt-get arguments...>: quiet, non-interactive, waiting up to 10 minutes for dpkg's locks.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y "$@" >/dev/null; }

# apt_update: `apt-get update`, tried for 5 minutes. DPkg::Lock::Timeout covers dpkg's locks, not the
# lists lock `apt-get update` takes without waiting (apt apt-pkg/acquire.cc GetLock): on a first boot
# apt-daily often holds it.
apt_update() {
  local attempt out
  for attempt in $(seq 60); do
    if out=$(DEBIAN_FRONTEND=noninteractive apt-get -q update 2>&1); then
      return 0
    fi
    if [[ $out == *"Could not get lock"* ]]; then
      log "apt's package lists are locked by another process (apt-daily?), waiting ($attempt/60)"
    else
      log "apt-get update failed ($attempt/60): ${out##*$'\n'}"
    fi
    sleep 5
  done
  log "apt-get update did not succeed in 5 minutes"
  return 1
}
