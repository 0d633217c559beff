#!/bin/sh
# Boot the test host: make the container VM-like enough for dockerd, start dockerd (when
# Docker is installed: a blank VM gets it from the program) in the background and sshd in
# the foreground; on SIGTERM stop both cleanly.
# Environment, like cloud-init user data: SSH_AUTHORIZED_KEY (public key for user
# ubuntu), SSH_HOST_ED25519_KEY (optional: the host's key), DOCKERD_CONFIG (contents of
# /etc/docker/daemon.json) and, on a blank VM, CLOUD_INIT_FINAL (its files and commands).
set -eu

# Docker mounts /sys and the cgroup hierarchies read-only unless --privileged.
mount -o remount,rw /sys
awk '$5 ~ "^/sys/fs/cgroup/" { print $5 }' /proc/self/mountinfo | while read -r mnt; do
    mount -o remount,rw,bind "$mnt"
done

install -d -m 0700 -o ubuntu -g ubuntu /home/ubuntu/.ssh
printf '%s\n' "$SSH_AUTHORIZED_KEY" > /home/ubuntu/.ssh/authorized_keys
chown ubuntu:ubuntu /home/ubuntu/.ssh/authorized_keys
chmod 0600 /home/ubuntu/.ssh/authorized_keys
# The host key the program made for this VM, as cloud-init's ssh_keys installs it; others are generated.
if [ -n "${SSH_HOST_ED25519_KEY:-}" ] && [ ! -f /etc/ssh/ssh_host_ed25519_key ]; then
    (umask 077; printf '%b\n' "$SSH_HOST_ED25519_KEY" > /etc/ssh/ssh_host_ed25519_key)  # its \n are newlines
    ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key > /etc/ssh/ssh_host_ed25519_key.pub
fi
ssh-keygen -A

mkdir -p /etc/docker
printf '%s\n' "$DOCKERD_CONFIG" > /etc/docker/daemon.json
# The program's host firewall, as its systemd unit loads it at boot (host-firewall.sh).
if [ -f /etc/flink-swarm/firewall.nft ]; then
    nft -f /etc/flink-swarm/firewall.nft
fi
rm -f /var/run/docker.pid
if command -v dockerd >/dev/null; then  # as systemd starts an enabled docker.service at boot
    dockerd >>/var/log/dockerd.log 2>&1 &
fi
/usr/sbin/sshd -D -e &
sshd_pid=$!
# A blank VM's user data, once sshd answers, as cloud-init's final stage (images/vm/cloud-init.sh).
if command -v cloud-init >/dev/null; then
    cloud-init boot &
fi

stop() {
    kill -TERM "$sshd_pid" 2>/dev/null || true
    if [ -f /var/run/docker.pid ]; then
        dockerd_pid=$(cat /var/run/docker.pid)
        kill -TERM "$dockerd_pid"
        while kill -0 "$dockerd_pid" 2>/dev/null; do sleep 0.2; done
    fi
    exit 0
}
trap stop TERM INT
wait "$sshd_pid"
