#!/bin/sh
# A stand-in for systemctl on the blank test VMs, which run in containers without systemd: just
# enough for the docker.service that the program's docker-install.sh and Debian's docker.io
# package ask for (enable, start, is-enabled, is-active). Everything else succeeds doing nothing.
set -u
marker=/etc/flink-swarm-e2e/docker.enabled

running() { [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }
start() {
    running && return 0
    rm -f /var/run/docker.pid
    setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
}

verb="" now=false unit=""
for arg in "$@"; do
    case "$arg" in
        --now) now=true ;;
        -*) ;;
        *) if [ -z "$verb" ]; then verb=$arg; else unit=${arg%.service}; fi ;;
    esac
done
[ "$unit" = docker ] || exit 0
case "$verb" in
    is-enabled) [ -f "$marker" ] ;;
    is-active) running ;;
    enable) mkdir -p "${marker%/*}" && touch "$marker" && { [ "$now" = false ] || start; } ;;
    start|restart) start ;;
    *) exit 0 ;;
esac
