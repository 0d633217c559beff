#!/usr/bin/env bash
# A static host's firewall from the cluster's port table, in its own nftables table: each port of a
# rule is open only to its sources (the cluster's addresses, adminCidrs, or for `loopback` the host
# itself: Flink's REST API, reached through an SSH tunnel), to IPv4 only; everything else is left as the
# host's owner has it. Its forward chain covers the ports Docker publishes (they are DNATed to a
# container, so they never reach the input chain: `ct status dnat`, `ct original proto-dst`), which a
# host's ufw or INPUT rules do not see: every rule's ports are in both chains. The host's containers'
# own connections out (forwarded too, never DNATed) are left alone. Loaded at boot by a systemd unit.
# Idempotent.
# Usage: host-firewall.sh apply <cluster CIDR,...> <admin CIDR,...> <proto:ports:cluster|admin|loopback>...
#        host-firewall.sh remove
set -euo pipefail
# shellcheck source=lib/log.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/log.sh"  # include
# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"  # include
rules=/etc/flink-swarm/firewall.nft
unit=/etc/systemd/system/flink-swarm-firewall.service

remove() {
  if [ -e "$rules" ]; then
    nft delete table inet flink_swarm 2>/dev/null || true
    if [ -d /run/systemd/system ]; then systemctl disable --quiet flink-swarm-firewall 2>/dev/null || true; fi
    rm -f "$rules" "$unit"
    log "removed the cluster's firewall"
  fi
}

# The ruleset: the table replaced as a whole, atomically (`table` first, so that `delete` finds it).
ruleset() {
  local cluster=$1 admin=$2 rule proto ports scope from
  shift 2
  printf 'table inet flink_swarm\ndelete table inet flink_swarm\ntable inet flink_swarm {\n'
  printf '  set cluster { type ipv4_addr; flags interval; auto-merge; elements = { %s } }\n' "${cluster//,/, }"
  printf '  set admin { type ipv4_addr; flags interval; auto-merge; elements = { %s } }\n' "${admin//,/, }"
  printf '  set loopback { type ipv4_addr; flags interval; elements = { 127.0.0.0/8 } }\n'
  printf '  chain input {\n    type filter hook input priority filter - 1; policy accept;\n'
  printf '    ct state established,related accept\n    iifname "lo" accept\n'
  for rule in "$@"; do
    IFS=: read -r proto ports scope <<<"$rule"
    if [ "$proto" = esp ]; then
      printf '    meta l4proto esp ip saddr != @%s drop\n    meta nfproto ipv6 meta l4proto esp drop\n' "$scope"
    else
      # The node's own swarm containers (Docker's docker_gwbridge) reach its cluster ports, as on a cloud
      # node: Prometheus scrapes the exporter of the node it runs on through it.
      from=""
      [ "$scope" != cluster ] || from='iifname != "docker_gwbridge" '
      printf '    %s dport { %s } %sip saddr != @%s reject\n' "$proto" "$ports" "$from" "$scope"
      printf '    meta nfproto ipv6 %s dport { %s } drop\n' "$proto" "$ports"
    fi
  done
  printf '  }\n  chain forward {\n    type filter hook forward priority filter - 1; policy accept;\n'
  printf '    ct state established,related accept\n'
  for rule in "$@"; do
    IFS=: read -r proto ports scope <<<"$rule"
    [ "$proto" = esp ] || printf '    meta l4proto %s ct status dnat ct original proto-dst { %s } ip saddr != @%s reject\n' \
      "$proto" "$ports" "$scope"
  done
  printf '  }\n}\n'
}

apply() {
  if ! command -v nft >/dev/null 2>&1; then
    apt_get install nftables
  fi
  local new
  new=$(ruleset "$@")
  mkdir -p "${rules%/*}"
  if [ "$(cat "$rules" 2>/dev/null)" != "$new" ]; then
    printf '%s\n' "$new" >"$rules.new"
    nft -c -f "$rules.new"  # checked before it replaces anything
    mv "$rules.new" "$rules"
    log "the cluster's ports are open to the cluster and adminCidrs only"
  fi
  nft -f "$rules"
  if [ -d /run/systemd/system ] && [ ! -e "$unit" ]; then
    printf '%s\n' "[Unit]" "Description=flink-swarm host firewall (the cluster's port table)" \
      "After=network-pre.target" "Before=docker.service" "[Service]" "Type=oneshot" \
      "ExecStart=/usr/sbin/nft -f $rules" "RemainAfterExit=yes" "[Install]" "WantedBy=multi-user.target" >"$unit"
    systemctl daemon-reload
    systemctl enable --quiet flink-swarm-firewall
  fi
}

case ${1:-} in
  apply) shift; apply "$@" ;;
  remove) remove ;;
  *) log "usage: host-firewall.sh apply <cluster CIDRs> <admin CIDRs> <proto:ports:cluster|admin|loopback>... | remove"; exit 2 ;;
esac
