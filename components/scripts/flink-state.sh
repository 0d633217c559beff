#!/usr/bin/env bash
# The jobmanager's durable state on its node, mounted at <mount> in the jobmanager's and ZooKeeper's
# containers: checkpoints, savepoints, Flink's high-availability metadata and ZooKeeper's data. Owned
# by the Flink image's user, closed to everyone else; ZooKeeper's config (zoo.cfg, for Flink's own
# ZooKeeper server, bin/flink-console.sh zookeeper) written beside its data. Idempotent: a second run
# changes nothing. The directory outlives the step (removing the node or the stack keeps the jobs'
# state); remove it by hand when it is not wanted.
# Usage: flink-state.sh <dir> <uid> <mount> <zookeeper client port>
set -euo pipefail
dir=$1 uid=$2 mount=$3 client_port=$4
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include

install -d -m 0700 -o "$uid" -g "$uid" "$dir" "$dir/zookeeper"
# Standalone ZooKeeper (no server.N lines). Sessions may last 4-40 s (minSessionTimeout and
# maxSessionTimeout default to 2 and 20 ticks: ZooKeeper Administrator's Guide, "Advanced
# Configuration"): a jobmanager killed without closing its session holds leadership until it expires
# (Flink's leader election is a Curator LeaderLatch, flink-runtime ZooKeeperLeaderElectionDriver.java:69).
config="tickTime=2000
clientPort=$client_port
dataDir=$mount/zookeeper
admin.enableServer=false
autopurge.snapRetainCount=3
autopurge.purgeInterval=24
"
if [ "$(cat "$dir/zoo.cfg" 2>/dev/null)" != "${config%$'\n'}" ]; then
  tmp=$(mktemp "$dir/.zoo.cfg.XXXXXX")
  printf '%s' "$config" >"$tmp"
  chmod 0644 "$tmp"
  chown "$uid:$uid" "$tmp"
  mv -f "$tmp" "$dir/zoo.cfg"
  log "wrote $dir/zoo.cfg"
fi
log "$dir ready (owner $uid, mounted at $mount)"
