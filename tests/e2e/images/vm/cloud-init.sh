#!/bin/sh
# A stand-in for cloud-init on the blank test VMs: what the program's steps and boot use of it.
#   cloud-init boot           the entrypoint runs it once the VM is up: once per instance, the final
#                             stage the harness made from the VM's user data (CLOUD_INIT_FINAL, base64
#                             of a shell script writing its write_files and running its runcmd, as
#                             tests/e2e/hosts.py cloud_init_final makes it), output in
#                             /var/log/cloud-init-output.log
#   cloud-init status --wait  until that is done; non-zero if it failed, as cloud-init reports an error
set -u
result=/run/cloud-init/result  # the final stage's exit status

case "$*" in
    boot)
        mkdir -p /run/cloud-init
        rm -f "$result"
        rc=0
        if [ -n "${CLOUD_INIT_FINAL:-}" ] && [ ! -e /var/lib/cloud/instance/boot-finished ]; then
            printf '%s' "$CLOUD_INIT_FINAL" | base64 -d >/run/cloud-init/final.sh
            sh /run/cloud-init/final.sh >>/var/log/cloud-init-output.log 2>&1 </dev/null || rc=$?
            mkdir -p /var/lib/cloud/instance
            touch /var/lib/cloud/instance/boot-finished
        fi
        echo "$rc" >"$result"
        ;;
    "status --wait")
        until [ -e "$result" ]; do sleep 0.5; done
        [ "$(cat "$result")" = 0 ]
        ;;
    *)
        echo "the test VMs' cloud-init stand-in does not emulate \`cloud-init $*\`" >&2
        exit 2
        ;;
esac
