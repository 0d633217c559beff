#!/bin/sh
# Boot a local node (the host image's entrypoint): make the container VM-like enough for its own
# Docker Engine, fix the modes of what the program uploaded before the start (the login key in the
# SSH user's authorized_keys, the host key /etc/ssh/ssh_host_ed25519_key), close the cloud's metadata
# server to the node's containers, start dockerd in the background and sshd in the foreground; on
# SIGTERM (docker stop) stop both cleanly. Every start does the same, so a restarted node comes back as
# it was.
set -eu

# Docker mounts /sys, /proc/sys and the cgroup hierarchies read-only unless --privileged: the inner
# Engine writes them all (forwarding and bridge sysctls; the container has CAP_SYS_ADMIN for it).
mount -o remount,rw /sys
mount -o remount,rw,bind /proc/sys
awk '$5 ~ "^/sys/fs/cgroup" { print $5 }' /proc/self/mountinfo | while read -r mnt; do
    mount -o remount,rw,bind "$mnt"
done
# cgroup v2 (most Linux hosts, Docker Desktop): a cgroup holding processes cannot hand controllers
# to its children, so ours move to a leaf first, then every controller is delegated (what moby's
# own Docker-in-Docker does: moby/moby hack/dind, "cgroup v2: enable nesting").
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p /sys/fs/cgroup/init
    xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
    read -r controllers < /sys/fs/cgroup/cgroup.controllers || :
    for controller in $controllers; do  # one a write: one the parent did not delegate fails alone
        echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || :
    done
fi

for keys in /home/*/.ssh/authorized_keys; do
    [ -f "$keys" ] || continue
    owner=$(stat -c %U "${keys%/authorized_keys}")
    chown "$owner:" "$keys"
    chmod 0600 "$keys"
done
if [ -f /etc/ssh/ssh_host_ed25519_key ]; then
    chmod 0600 /etc/ssh/ssh_host_ed25519_key
    ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key > /etc/ssh/ssh_host_ed25519_key.pub
fi
ssh-keygen -A >/dev/null  # any other key type sshd wants, made once

# The node's containers cannot reach the cloud's metadata server, as on every node (the rule of
# components/scripts/lib/metadata-guard.sh, which the `-docker` step applies): this container's network
# namespace is new at every start, so the rule goes into DOCKER-USER before dockerd starts, which keeps
# the chain and its rules. A failure is said and the node starts anyway (the `-docker` step fails on it).
guard_metadata() {
    iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || iptables -w -N DOCKER-USER || return 1
    iptables -w -C DOCKER-USER -d 169.254.169.254/32 -j REJECT 2>/dev/null ||
        iptables -w -I DOCKER-USER -d 169.254.169.254/32 -j REJECT
}
if command -v dockerd >/dev/null 2>&1 && command -v iptables >/dev/null 2>&1; then
    guard_metadata || echo "flink-swarm-node: could not close 169.254.169.254 to the containers" >&2
fi

rm -f /var/run/docker.pid
dockerd >>/var/log/dockerd.log 2>&1 &
/usr/sbin/sshd -D -e &
sshd_pid=$!

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
