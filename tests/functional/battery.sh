#!/bin/sh
# Escape attempts run as a server's main process (test_security.py).
#
#   battery.sh ENGINE_SOCKET OTHER_MARKER [control]
#
# "control" leaves out the attempts that would change the host when they
# succeed (sysctls, modules, links): the test runs the battery once in a
# privileged container sharing the host's namespaces, to see it fail.
#
# Prints one "ND-CHECK <name> ok" line per attempt that failed as it must,
# "ND-CHECK <name> BREACH <output>" for one that succeeded, a few
# "ND-FACT <name> <value>" lines for the test to compare with the host, and
# "ND-BATTERY-DONE" at the end; then keeps running.
sock=$1
marker=$2
mode=${3:-}

check() {
    name=$1
    shift
    if "$@" >/tmp/nd-out 2>&1; then
        echo "ND-CHECK $name BREACH $(head -c 200 /tmp/nd-out | tr '\n' ' ')"
    else
        echo "ND-CHECK $name ok"
    fi
}

# check, except in a control run.
risky() {
    if [ "$mode" != control ]; then
        check "$@"
    fi
}

# Succeeds only when the command's error is not "not permitted".
permitted() {
    "$@" 2>&1 | grep -q -i 'not permitted\|permission denied' && return 1
    return 0
}

fact() {
    echo "ND-FACT $1 $(head -n 1 "$2" 2>/dev/null)"
}

# The engine's socket.
check engine-socket test -e "$sock"
check engine-socket-default sh -c \
    'test -e /var/run/docker.sock || test -e /run/docker.sock ||
     test -e /run/containerd/containerd.sock'
check any-socket sh -c \
    'find / -path /proc -prune -o -path /sys -prune -o -type s -print |
     grep -q .'
# Host processes.
# shellcheck disable=SC2016  # expanded by the inner shell
check host-processes sh -c 'test "$(ls -d /proc/[0-9]* | wc -l)" -gt 8'
check host-dockerd sh -c \
    'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " " |
     grep -q "[d]ockerd \|[c]ontainerd-shim\|[p]ytest"'
# Mounts, device nodes, kernel modules.
check mount-tmpfs sh -c 'mount -t tmpfs none /var && umount /var'
check mount-proc sh -c 'mount -t proc proc /var && umount /var'
check mount-remount-sys mount -o remount,rw /sys
check mknod-block-use sh -c 'mknod /tmp/nd-sda b 8 0 && head -c 1 /tmp/nd-sda'
check mknod-mem-use sh -c 'mknod /tmp/nd-mem c 1 1 && head -c 1 /tmp/nd-mem'
check load-module permitted insmod /nd-battery.sh
risky remove-module permitted rmmod loop
# Host sysctls.
risky sysctl-core-pattern sh -c 'echo "|/nd-battery.sh" > /proc/sys/kernel/core_pattern'
risky sysctl-vm sysctl -w vm.swappiness=7
risky sysctl-fs sh -c 'echo 4242 > /proc/sys/fs/file-max'
# The host's network namespace.
check host-interfaces sh -c 'ls /sys/class/net | grep -v -x lo | grep -q .'
check setns-pid1 nsenter -t 1 -n true
check unshare-net unshare -n true
risky raw-host-net sh -c 'ip link add nd-x type dummy'
# Other instances' files.
check other-files sh -c \
    "find / -path /proc -prune -o -path /sys -prune -o -type f -print |
     xargs grep -l -s '$marker' | grep -q ."
check host-instances sh -c 'ls -d /var/lib/nova /opt/stack 2>/dev/null |
                            grep -q .'
# Capabilities and the seccomp profile.
check no-new-privs-off sh -c \
    '! grep -q "^NoNewPrivs:[[:space:]]*1" /proc/self/status'
check seccomp-off sh -c \
    '! grep -q "^Seccomp:[[:space:]]*2" /proc/self/status'
check unshare-user unshare -U true
fact memory-v1 /sys/fs/cgroup/memory/memory.limit_in_bytes
fact memory-v2 /sys/fs/cgroup/memory.max
fact pids-v1 /sys/fs/cgroup/pids/pids.max
fact pids-v2 /sys/fs/cgroup/pids.max
fact cpu-quota-v1 /sys/fs/cgroup/cpu/cpu.cfs_quota_us
fact cpu-v2 /sys/fs/cgroup/cpu.max
echo "ND-FACT netns $(readlink /proc/self/ns/net)"
echo "ND-FACT uid-map $(tr -s ' ' < /proc/self/uid_map | head -n 1)"
echo ND-BATTERY-DONE
exec sleep 100000
