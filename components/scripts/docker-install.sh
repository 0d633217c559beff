#!/usr/bin/env bash
# Install and start Docker, and let the SSH user run it. Idempotent: a second run changes nothing.
# Usage: docker-install.sh <docker-ce|docker.io> <user>
set -euo pipefail
source_pkg=$1 user=$2
log() { echo "[flink-swarm] docker-install: $*" >&2; }
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y "$@" >/dev/null; }

# A fresh cloud VM is still running cloud-init (and apt) when SSH first answers.
if command -v cloud-init >/dev/null 2>&1; then
  timeout 900 cloud-init status --wait >/dev/null 2>&1 || log "cloud-init did not finish cleanly; going on"
fi

if ! command -v docker >/dev/null 2>&1; then
  log "installing $source_pkg"
  apt_get update
  if [ "$source_pkg" = docker-ce ]; then
    apt_get install ca-certificates curl
    # shellcheck disable=SC1091
    . /etc/os-release
    install -m 0755 -d /etc/apt/keyrings
    curl -fsSL --retry 5 "https://download.docker.com/linux/${ID}/gpg" -o /etc/apt/keyrings/docker.asc
    chmod a+r /etc/apt/keyrings/docker.asc
    echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc]" \
      "https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable" >/etc/apt/sources.list.d/docker.list
    apt_get update
    apt_get install docker-ce docker-ce-cli containerd.io
  else
    apt_get install docker.io
  fi
fi

if [ -d /run/systemd/system ] && ! systemctl is-enabled --quiet docker; then
  systemctl enable --now docker
fi
if ! id -nG "$user" | tr ' ' '\n' | grep -qx docker; then
  usermod -aG docker "$user"
  log "added $user to the docker group"
fi
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 2
done
log "the Docker daemon does not answer after 120 s"
exit 1
