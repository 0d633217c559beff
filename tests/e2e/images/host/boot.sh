#!/bin/sh
# Boot a test host: what cloud-init would do with a VM's user data, from the environment, then the
# program's node entrypoint (/usr/local/sbin/flink-swarm-node: the remounts, the modes of the key files,
# dockerd when Docker is installed, sshd; a clean stop on SIGTERM).
# Environment: SSH_AUTHORIZED_KEY (public key for user ubuntu), SSH_HOST_ED25519_KEY (optional: the
# host's key), DOCKERD_CONFIG (contents of /etc/docker/daemon.json) and, on a blank VM,
# CLOUD_INIT_FINAL (its files and commands).
set -eu

printf '%s\n' "$SSH_AUTHORIZED_KEY" > /home/ubuntu/.ssh/authorized_keys
# The host key the program made for this VM, as cloud-init's ssh_keys installs it; others are generated.
if [ -n "${SSH_HOST_ED25519_KEY:-}" ] && [ ! -f /etc/ssh/ssh_host_ed25519_key ]; then
    (umask 077; printf '%b\n' "$SSH_HOST_ED25519_KEY" > /etc/ssh/ssh_host_ed25519_key)  # its \n are newlines
fi
mkdir -p /etc/docker
printf '%s\n' "$DOCKERD_CONFIG" > /etc/docker/daemon.json
# The program's host firewall, as its systemd unit loads it at boot (host-firewall.sh).
if [ -f /etc/flink-swarm/firewall.nft ]; then
    nft -f /etc/flink-swarm/firewall.nft
fi
# A blank VM's user data, once sshd runs (the entrypoint has then started dockerd if there is one), as
# cloud-init's final stage (images/vm/cloud-init.sh).
rm -f /run/sshd.pid
if command -v cloud-init >/dev/null; then
    (until [ -s /run/sshd.pid ]; do sleep 0.2; done; cloud-init boot) &
fi
exec /usr/local/sbin/flink-swarm-node
