#!/usr/bin/env bash
# A cloud node's first boot (cloud-init runcmd, as root): the head start the SSH steps build on.
# Docker is installed as the `-docker` step installs it; then the Flink image and the Weave plugin
# are fetched in the background, each under a lock that the `-pull` and `-weave` steps wait for. The
# steps stay authoritative: each runs its own script, which changes nothing where the boot did the
# work and does it where the boot failed. Idempotent: a second run changes nothing.
# Usage: first-boot.sh <docker-ce|docker.io> <version|-> <user> <minimum API|-> <image|-> <plugin|->
#   (the first four as docker-install.sh takes them, which must sit beside this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${5#-} plugin=${6#-}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/boot-locks.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/boot-locks.sh"  # include
locks=$(boot_locks)  # image-pull.sh and weave-plugin.sh wait on these

# The step's `cloud-init status --wait` would wait for this very script (cloud-init's final stage).
FLINK_SWARM_AT_BOOT=1 bash "$here/docker-install.sh" "$1" "$2" "$3" "$4"

# fetch <lock> <command...>: take the lock now, so that a step arriving later waits for it, and hold
# it in a child of its own session until the command ends; cloud-init finishes meanwhile
# (cloud-final.service is Type=oneshot, RemainAfterExit=yes, KillMode=process: canonical/cloud-init
# systemd/cloud-final.service.tmpl, as Ubuntu installs it; its children are left alone).
export -f log  # to fetch's child, whose $0 is this script's: it logs as this script does
fetch() {
  local lock=$1 fd
  shift
  exec {fd}>"$locks/$lock.lock"
  flock "$fd"
  setsid bash -c '"$@" || log "$* failed; its step will try again"' "$0" "$@" \
    </dev/null >>"$locks/fetch.log" 2>&1 &
  exec {fd}>&-
  log "$* in the background (output in $locks/fetch.log)"
}

mkdir -p "$locks"
if [ -n "$image" ]; then
  fetch image docker pull --quiet "$image"
fi
# The plugin from its tag (a digest the config may give left to the step: Docker before 25.0.3 crashes
# pulling a plugin by digest, weave-plugin.sh), under its name, as weave-plugin.sh looks for it; that
# step checks it is the stack's pinned digest, and fetches that over it if not.
if [ -n "$plugin" ] && ! docker plugin inspect "${plugin%@*}" >/dev/null 2>&1; then
  fetch plugin docker plugin install --grant-all-permissions --disable "${plugin%@*}"
fi
