#!/usr/bin/env bash
# Install and start Docker, and let the SSH user run it. Idempotent: a second run changes nothing.
# Usage: docker-install.sh <docker-ce|docker.io> <version|-> <user> <minimum API version|->
#   Also installs curl: the join and Weave steps reach the Engine API with it.
#   docker-ce: that exact Engine version from Docker's apt repository, held; docker.io: the
#   distribution's package, held. A host that has Docker already keeps it (a warning if the version differs).
#   The minimum API version, when given, is set for the daemon (systemd drop-in): the Weave plugin's
#   weaveutil speaks API 1.26, which Engine 29 refuses by default.
#   Last, the node's containers are denied the cloud's metadata server (lib/metadata-guard.sh): now,
#   and at every start of docker.service.
set -euo pipefail
source_pkg=$1 version=${2#-} user=$3 min_api=${4#-}
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"  # include
# shellcheck source=lib/metadata-guard.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/metadata-guard.sh"  # include

install_docker_ce() {
  # Cloud images have both: then one `apt-get update` (after Docker's repository is added) does.
  if ! command -v curl >/dev/null 2>&1 || [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then
    apt_update
    apt_get install ca-certificates curl
  fi
  # shellcheck disable=SC1091
  . /etc/os-release
  # Ubuntu derivatives use Ubuntu's repository (docs.docker.com/engine/install/ubuntu)
  local codename=${UBUNTU_CODENAME:-$VERSION_CODENAME} repo=${ID}
  [ -z "${UBUNTU_CODENAME:-}" ] || repo=ubuntu
  install -m 0755 -d /etc/apt/keyrings
  curl -fsSL --retry 5 "https://download.docker.com/linux/${repo}/gpg" -o /etc/apt/keyrings/docker.asc
  chmod a+r /etc/apt/keyrings/docker.asc
  echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc]" \
    "https://download.docker.com/linux/${repo} ${codename} stable" >/etc/apt/sources.list.d/docker.list
  apt_update
  local candidates exact
  candidates=$(apt-cache madison docker-ce | awk '{ print $3 }')
  exact=$(awk -v want="5:${version}-1~" 'index($0, want) == 1 { print; exit }' <<<"$candidates")
  if [ -z "$exact" ]; then
    log "Docker $version is not in Docker's repository for $repo $codename; set flink-swarm:dockerVersion to one that is"
    return 1
  fi
  apt_get install "docker-ce=$exact" "docker-ce-cli=$exact" containerd.io
  apt-mark hold docker-ce docker-ce-cli containerd.io >/dev/null
}

# A fresh cloud VM is still running cloud-init (and apt, and first-boot.sh's install) when SSH first
# answers. At boot (first-boot.sh, FLINK_SWARM_AT_BOOT=1) this runs inside cloud-init: no waiting.
if [ -z "${FLINK_SWARM_AT_BOOT:-}" ] && command -v cloud-init >/dev/null 2>&1; then
  timeout 900 cloud-init status --wait >/dev/null 2>&1 || log "cloud-init did not finish cleanly; going on"
fi

# Before the package starts the daemon, so that it starts with it (Environment= of docker.service).
if [ -n "$min_api" ] && [ -d /run/systemd/system ]; then
  dropin=/etc/systemd/system/docker.service.d/flink-swarm.conf
  want=$(printf '[Service]\nEnvironment=DOCKER_MIN_API_VERSION=%s' "$min_api")
  if [ "$(cat "$dropin" 2>/dev/null)" != "$want" ]; then
    mkdir -p "${dropin%/*}"
    printf '%s\n' "$want" >"$dropin"
    systemctl daemon-reload
    if command -v docker >/dev/null 2>&1 && systemctl is-active --quiet docker; then
      systemctl restart docker
    fi
    log "the Docker daemon accepts API $min_api and later"
  fi
fi

if ! command -v docker >/dev/null 2>&1; then
  log "installing $source_pkg${version:+ $version}"
  if [ "$source_pkg" = docker-ce ]; then
    install_docker_ce
  else
    apt_update
    # pigz: dockerd decompresses pulled layers with unpigz when it is on PATH, else with Go's gzip
    # (moby pkg/archive/archive.go gzDecompress; Debian's dockerd 20.10.24 logs "unpigz binary not
    # found, falling back to go gzip library"). docker-ce recommends it (docker-ce-packaging
    # deb/common/control), so install_docker_ce gets it; Debian's docker.io does not.
    apt_get install docker.io curl pigz
    apt-mark hold docker.io >/dev/null
  fi
elif ! command -v curl >/dev/null 2>&1; then  # the steps talk to the Engine API with it (secrets on stdin)
  apt_update
  apt_get install curl
elif [ -n "$version" ]; then
  have=$(docker version --format '{{.Server.Version}}' 2>/dev/null || docker --version)
  [[ $have == *"$version"* ]] || log "Docker $have is installed, not $version: left as it is"
fi

if [ -d /run/systemd/system ] && ! systemctl is-enabled --quiet docker; then
  systemctl enable --now docker
fi
if [[ " $(id -nG "$user") " != *" docker "* ]]; then
  usermod -aG docker "$user"
  log "added $user to the docker group"
fi
answers=""
for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then
    answers=yes
    break
  fi
  sleep 2
done
if [ -z "$answers" ]; then
  log "the Docker daemon does not answer after 120 s"
  exit 1
fi
metadata_guard
