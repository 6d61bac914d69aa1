#!/usr/bin/env bash
# make demo: run a real busybox container through pier-runtime and show
# that it is an ordinary process in namespaces of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
rt="$PWD/bin/pier-runtime"
work=$(mktemp -d /tmp/pier-demo.XXXXXX)
state="$work/state"
id="demo-$$"
cleanup() {
	"$rt" --root "$state" delete -f "$id" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (namespaces, cgroups, mounts)" >&2
	exit 1
fi

echo "== a busybox bundle in $work/bundle"
mkdir -p "$work/bundle/rootfs"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$work/bundle/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/bundle/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/bundle/rootfs/etc/group"
cat >"$work/bundle/rootfs/demo.sh" <<'IN'
echo
echo "inside: hostname=$(hostname) pid=$$ uid=$(id -u)"
ls -l /proc/self/ns | sed 1d | awk '{print "  " $9, $10, $11}'
echo "  cgroup: $(grep memory /proc/self/cgroup)"
exec sleep 1000
IN
(cd "$work/bundle" && "$rt" spec)
jq '.process.terminal = false | .hostname = "pier-demo" | .process.args = ["/bin/sh", "/demo.sh"]' \
	"$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

echo "== pier-runtime run -d $id"
"$rt" --root "$state" run -d --bundle "$work/bundle" "$id" >"$work/out" 2>&1
pid=$("$rt" --root "$state" state "$id" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
sleep 0.2
cat "$work/out"
echo
echo "outside: the container's PID 1 is host pid $pid, $(tr '\0' ' ' </proc/$pid/cmdline)"
echo "its namespaces, next to the host's (different inodes = isolated):"
for ns in mnt uts ipc pid net cgroup; do
	printf '  %-7s container %-22s host %s\n' "$ns" "$(readlink /proc/$pid/ns/$ns)" "$(readlink /proc/self/ns/$ns)"
done
echo "its cgroup: $(grep memory /proc/$pid/cgroup)"
echo
echo "== pier-runtime exec $id: a second process joins the same namespaces"
"$rt" --root "$state" exec "$id" /bin/sh -c 'echo "  exec: hostname=$(hostname) sees pids: $(ls /proc | grep -E "^[0-9]+$" | tr "\n" " ")"'
echo
echo "== state, then delete -f"
"$rt" --root "$state" state "$id"
"$rt" --root "$state" delete -f "$id"
echo "deleted; nothing is left: $(ls /sys/fs/cgroup/memory/pier 2>/dev/null | grep -c "^$id$" || true) cgroup, $(ls "$state" | wc -l) state dirs"

echo
echo "== the engine: pierd in the background, then pier run --rm busybox"
droot="$work/pierd"
sock="$work/pier.sock"
mkdir -p "$droot"
"$PWD/bin/pierd" --root "$droot" --host "unix://$sock" --runtime "$rt" >"$work/pierd.log" 2>&1 &
dpid=$!
stop_pierd() { kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null || true; }
trap 'stop_pierd; cleanup' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && "$PWD/bin/pier" -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.05; done
pier() { "$PWD/bin/pier" -H "unix://$sock" "$@"; }
pier images
pier run --rm --name demo busybox sh -c 'echo; echo "inside: hostname=$(hostname) pid1=$(tr "\0" " " </proc/1/cmdline | cut -d" " -f1-2)"; ls -l /proc/self/ns | sed 1d | awk "{print \"  \" \$9, \$10, \$11}"; echo "  cgroup: $(grep memory /proc/self/cgroup)"; echo "  network: $(ip -4 -o addr show eth0 | awk "{print \$2, \$4}") via $(ip route | awk "/default/ {print \$3}")"'
echo "pier run exited $?; containers left: $(pier ps -aq | wc -l)"
stop_pierd
echo "pierd stopped"
