# shellcheck shell=bash
# lib/log.sh: a host script's messages. Functions only: sourcing it runs nothing.
#
# log <words...>: print "[flink-swarm] <script>: <words>" on stderr, where <script> is the running
# script's name: $0, without its folder and `.sh`. A step runs its script as
# `bash -c '<text>' <name> args...` (components/steps.py), where $0 is <name>; run from its file,
# $0 is the file's path. Never give it a secret: a failed step's error text holds everything the
# step printed (pulumi-command v1.2.1 provider/pkg/provider/remote/commandOutputs.go:101).
log() {
  local name=${0##*/}
  echo "[flink-swarm] ${name%.sh}: $*" >&2
}
