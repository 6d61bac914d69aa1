#!/usr/bin/env bash
# make compat: Docker (dockerd -> containerd -> shim) and Podman (conmon)
# driving bin/pier-runtime as their OCI runtime, the way users would plug it
# in. Installs Debian's docker.io and podman if missing; runs a private
# dockerd (own socket, data root, no iptables, no bridge) and podman with
# private storage, and removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
rt="$PWD/bin/pier-runtime"
[ "$(id -u)" = 0 ] || { echo "compat: needs root" >&2; exit 1; }
scripts/install-deps.sh docker.io podman

work=$(mktemp -d /tmp/pier-compat.XXXXXX)
dpid=""
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null || true
	podman --root "$work/pm" --runroot "$work/pmrun" rm -af >/dev/null 2>&1 || true
	umount -R "$work/pm" 2>/dev/null || true
	rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
pass=0 fail=0
check() { # check NAME WANT CMD...: CMD's output must contain WANT
	local name=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1) && grep -q -- "$want" <<<"$out"; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name: $out"
	fi
}

mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/rootfs/etc/group"

cat >"$work/daemon.json" <<JSON
{"runtimes": {"pier": {"path": "$rt"}}, "iptables": false, "bridge": "none",
 "data-root": "$work/docker", "exec-root": "$work/dexec", "pidfile": "$work/docker.pid",
 "hosts": ["unix://$work/docker.sock"]}
JSON
dockerd --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
dpid=$!
export DOCKER_HOST="unix://$work/docker.sock"
for _ in $(seq 50); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
tar -C "$work/rootfs" -c . | docker import - busybox:pier-compat >/dev/null
d="docker"
check "docker run" "hello" $d run --rm --network none --runtime pier busybox:pier-compat echo hello
check "docker run exit code" "exit=42" sh -c "$d run --rm --network none --runtime pier busybox:pier-compat sh -c 'exit 42'; echo exit=\$?"
$d run -d --name pc1 --network none --runtime pier busybox:pier-compat sleep 1000 >/dev/null
check "docker exec" "pid1=sleep" $d exec pc1 sh -c 'echo pid1=$(cat /proc/1/cmdline | tr "\0" " ")'
check "docker pause" "paused" sh -c "$d pause pc1 >/dev/null && $d inspect -f '{{.State.Status}}' pc1"
check "docker unpause" "running" sh -c "$d unpause pc1 >/dev/null && $d inspect -f '{{.State.Status}}' pc1"
check "docker update" "67108864" sh -c "$d update --memory 64m --memory-swap 64m pc1 >/dev/null && cat /sys/fs/cgroup/memory/docker/\$($d inspect -f '{{.Id}}' pc1)/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/docker/\$($d inspect -f '{{.Id}}' pc1)/memory.max"
check "docker top" "sleep 1000" $d top pc1
check "docker stop" "pc1" $d stop -t 2 pc1
check "docker rm" "pc1" $d rm pc1
check "docker --init" "docker-init" $d run --rm --init --network none --runtime pier busybox:pier-compat sh -c "tr '\\0' ' ' </proc/1/cmdline"

p="podman --root $work/pm --runroot $work/pmrun --cgroup-manager cgroupfs --events-backend none --runtime $rt"
tar -C "$work/rootfs" -c . | $p import - busybox:pier-compat >/dev/null 2>&1
lim="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024" # root here lacks CAP_SYS_RESOURCE
check "podman run" "hello" $p run --rm --network none $lim busybox:pier-compat echo hello
$p run -d --name pc2 --network none $lim busybox:pier-compat sleep 1000 >/dev/null
check "podman exec" "exec-ok" $p exec pc2 echo exec-ok
check "podman stop" "pc2" $p stop -t 1 pc2
check "podman rm" "pc2" $p rm pc2

echo "compat: $pass passed, $fail failed"
[ "$fail" = 0 ]
