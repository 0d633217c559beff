# shellcheck shell=bash
# lib/engine-api.sh: the Docker Engine API on the daemon's unix socket, for requests that carry a
# secret (a join token, the Weave password) or that the docker CLI does not make (the registry's
# digest for a tag). Functions only: sourcing it runs nothing.
#
# engine_post <url>: POST the JSON body on stdin to the daemon's <url> (http://localhost/swarm/join,
# http://localhost/plugins/<name>/set, ...) and print its answer, or curl's error; fails when the
# daemon refuses. The body goes on curl's stdin: never on a command line, where every user of the
# host could read it (`ps`). The caller masks its secret in what this prints before printing it.
engine_post() {
  curl -sS --fail-with-body --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' \
    --data-binary @- "$1" 2>&1
}

# engine_get <url>: GET the daemon's <url> (http://localhost/distribution/<name>/json, ...) and print
# its answer, or curl's error; fails when the daemon refuses.
engine_get() {
  curl -sS --fail-with-body --unix-socket /var/run/docker.sock "$1" 2>&1
}
