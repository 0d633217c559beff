#!/usr/bin/env bash
# Pull an image ahead of the services that run it, while the swarm is still forming, and print it
# pinned by digest (<name>:<tag>@sha256:...), the form a swarm service keeps. Idempotent: pulling an
# image that is up to date changes nothing. Usage: image-pull.sh <image>
set -euo pipefail
image=$1
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/boot-locks.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/boot-locks.sh"  # include

# A cloud node's first boot may be pulling it already (first-boot.sh): wait for that pull first.
wait_for_boot image pull "pulling anyway"

for attempt in 1 2 3; do
  if docker pull --quiet "$image" >/dev/null; then
    break
  fi
  log "attempt $attempt to pull $image failed"
  [ "$attempt" -lt 3 ] || exit 1
  sleep 5
done

if [[ $image == *@* ]]; then  # pinned already
  echo "$image"
  exit 0
fi
name=$image tag=latest
if [[ ${name##*/} == *:* ]]; then
  tag=${name##*:} name=${name%:*}
fi
familiar=${name#docker.io/}
familiar=${familiar#index.docker.io/}
familiar=${familiar#library/}
digests=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$image")
digest=$(awk -F@ -v name="$familiar" '$1 == name { print $2; exit }' <<<"$digests")
if [ -z "$digest" ]; then
  log "$image has no digest from a registry; give the image as it is pushed to one"
  exit 1
fi
log "$familiar:$tag is $digest"
echo "$familiar:$tag@$digest"
