#!/usr/bin/env bash
# Runs on the machine that runs `pulumi destroy` (a local command, delete only), before the docker
# provider removes anything: the SSH files the provider reaches the control manager with
# (components/sshkey.py) must be on this machine. Only a run of the program writes them, so a destroy
# without `--run-program` on a machine that never ran the program would otherwise fail inside the
# provider with ssh's own error. Reads no file's content and prints only file names.
# Usage: ssh-files.sh ENV_VAR DEFAULT_FOLDER NAME key|agent
#   the folder is $ENV_VAR, else $HOME/DEFAULT_FOLDER; NAME.known_hosts must be there, and with `key`
#   the private key NAME too (`agent`: the deployer's ssh-agent holds it).
set -euo pipefail
env_var=$1 default_folder=$2 name=$3 mode=$4
folder=${!env_var:-$HOME/$default_folder}
files=("$folder/$name.known_hosts")
[ "$mode" = agent ] || files+=("$folder/$name")
for file in "${files[@]}"; do
  if [ ! -r "$file" ]; then
    echo "flink-swarm: $file is not on this machine: the docker provider reaches the control manager" \
      "with it, and only a run of the program writes it. Run \`pulumi destroy --run-program\`." >&2
    exit 1
  fi
done
