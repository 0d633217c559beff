#!/usr/bin/env bash
# This node's Flink image with Python and PyFlink added, built here from the image the cluster runs
# and kept under a tag of this node's own, so no registry is involved. As Flink's docs build it
# ("Using Flink Python on Docker", deployment/resource-providers/standalone/docker in the 1.20 docs):
# Python from the image's apt sources, and `pip install apache-flink==<the image's Flink version>`
# (read from lib/flink-dist-<version>.jar), here into a venv (Debian 12 and Ubuntu 24.04 refuse a
# system-wide pip install, PEP 668), whose bin/ goes first on PATH, so `python` is the venv's: what
# PyFlink runs by default (python.executable and python.client.executable are "python"; a symlink to
# the venv's python would not do, Python finds its venv next to the path it was started by). The
# image's user is put back.
# Idempotent: a tag that is here already is not built again (the tag names the image and this script).
# Usage: flink-python.sh <image pinned by digest> <tag>
set -euo pipefail
image=$1 tag=$2
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag is here already"
  exit 0
fi
user=$(docker image inspect --format '{{.Config.User}}' "$image")
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
log "building $tag from $image (Python and PyFlink; a few minutes)"
start=$SECONDS
if ! docker build --tag "$tag" --label "flink-swarm.base=$image" --build-arg "IMAGE=$image" \
    --build-arg "IMAGE_USER=${user:-root}" - >"$build_log" 2>&1 <<'DOCKERFILE'
ARG IMAGE
FROM $IMAGE
ARG IMAGE_USER
USER root
RUN set -eu; \
    command -v apt-get >/dev/null || { echo "flink.python needs an image with apt-get (Debian or Ubuntu), as Flink's own images are" >&2; exit 1; }; \
    dist=$(ls "$FLINK_HOME"/lib/flink-dist*.jar); \
    version=$(basename "$dist" | sed -E 's/^flink-dist(_[0-9.]+)?-(.+)\.jar$/\2/'); \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3 python3-venv; \
    rm -rf /var/lib/apt/lists/*; \
    python3 -m venv /opt/flink-swarm-python; \
    /opt/flink-swarm-python/bin/pip install --no-cache-dir --disable-pip-version-check "apache-flink==$version"; \
    /opt/flink-swarm-python/bin/python -c 'import pyflink.version as v, sys; print("PyFlink", v.__version__, "Python", sys.version.split()[0])'
ENV PATH=/opt/flink-swarm-python/bin:$PATH
USER $IMAGE_USER
DOCKERFILE
then
  tail -n 30 "$build_log" >&2
  log "building $tag from $image failed (the build's last lines above)"
  exit 1
fi
log "built $tag in $((SECONDS - start)) s"
