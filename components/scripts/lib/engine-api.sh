# shellcheck shell=bash
# lib/engine-api.sh: the Docker Engine API on the daemon's unix socket, for requests that carry a
# secret (a join token, the Weave password). Functions only: sourcing it runs nothing.
#
# engine_post <path>: POST the JSON body on stdin to <path> (/swarm/join, /plugins/<name>/set, ...)
# and print the daemon's answer, or curl's error; fails when the daemon refuses. The body goes on
# curl's stdin: never on a command line, where every user of the host could read it (`ps`). The
# caller masks its secret in what this prints before printing it itself.
engine_post() {
  curl -sS --fail-with-body --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' \
    --data-binary @- "http://localhost$1" 2>&1
}
