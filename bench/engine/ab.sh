#!/usr/bin/env bash
# A/B of pier's start path (issue 16), interleaved in one run on the same
# load: two pierds (A: PIER_BIN_A, e.g. binaries built from an older
# commit; B: PIER_BIN, default bin/), a private dockerd and podman, each
# round running every engine once in turn:
#   none    `run --rm --network none busybox true`
#   bridge  `run --rm busybox true` on the default bridge (docker: a private
#           bridge without iptables; podman: a private CNI network without
#           masquerade or firewall rules; pier: pier0 with its own nft table)
#   exec    `exec CTR true` into a running `sleep 1000`
# Prints medians, ratios to docker and the load average before and after.
#
# usage: PIER_BIN_A=/tmp/old/bin bench/engine/ab.sh [-n RUNS]   (default 20)
# Without PIER_BIN_A only B runs. Needs root, dockerd, podman, jq.
set -euo pipefail

if [ -z "${PIER_BENCH_SUBREAPER:-}" ]; then
	exec env PIER_BENCH_SUBREAPER=1 python3 -c '
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

N=20
while getopts n: o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/engine/ab: needs root" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
BIN_A=${PIER_BIN_A:-}
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"

W=$(mktemp -d /tmp/pier-bench-ab-XXXXXX)
PP= DP= PA=
CG=bench-ab-$$
BR=pbr$$
DOCKER="docker -H unix://$W/docker.sock"
PODMAN="podman --root $W/pm --runroot $W/pmrun --cgroup-manager cgroupfs --events-backend none --runtime runc --network-config-dir $W/cni"
PODRUN="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /pier/$CG-podman"
PIER_B="$BIN/pier -H unix://$W/pier.sock"
PIER_A="${BIN_A:+$BIN_A/pier -H unix://$W/pa.sock}"

cleanup() {
	set +e
	echo "bench/engine/ab: cleaning up" >&2
	for c in "$PIER_B" ${PIER_A:+"$PIER_A"}; do $c rm -f $($c ps -aq 2>/dev/null) >/dev/null 2>&1; done
	[ -n "$DP" ] && $DOCKER rm -f $($DOCKER ps -aq 2>/dev/null) >/dev/null 2>&1
	$PODMAN rm -af -t 0 >/dev/null 2>&1
	[ -n "$PA" ] && kill "$PA" && wait "$PA"
	stop_pierd_dockerd
	ip link del "$BR" 2>/dev/null
	ip link del cni-$BR 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# docker's default bridge, private: an existing bridge named by "bridge"
# (dockerd takes its address as the gateway), no iptables, no forwarding
# sysctl; the other engines' bridges are theirs.
ip link add "$BR" type bridge
ip addr add 10.213.$((RANDOM % 200 + 20)).1/24 dev "$BR"
ip link set "$BR" up
start_pierd_dockerd "$BR"
if [ -n "$BIN_A" ]; then
	"$BIN_A/pierd" --root "$W/pa" --host "unix://$W/pa.sock" --runtime "$BIN_A/pier-runtime" >"$W/pa.log" 2>&1 &
	PA=$!
fi
mkdir -p "$W/cni"
cat >"$W/cni/benchnet.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "benchnet", "plugins": [{"type": "bridge", "bridge": "cni-$BR", "isGateway": true,
 "ipMasq": false, "hairpinMode": true, "ipam": {"type": "host-local", "dataDir": "$W/cni-ipam",
 "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": "10.214.$((RANDOM % 200 + 20)).0/24"}]]}}]}
JSON
make_busybox_rootfs "$W/rootfs"
for c in "$PIER_B" ${PIER_A:+"$PIER_A"}; do
	wait_for 30 $c image inspect busybox:latest || { tail "$W"/*.log >&2; exit 1; }
done
wait_for 30 $DOCKER info || { tail "$W/dockerd.log" >&2; exit 1; }
tar -C "$W/rootfs" -c . | $DOCKER import - busybox:local >/dev/null
tar -C "$W/rootfs" -c . | $PODMAN import - busybox:local >/dev/null 2>&1

declare -A CMD
ENGINES=(b docker podman)
[ -n "$BIN_A" ] && ENGINES=(a b docker podman)
CMD[none.a]="$PIER_A run --rm --network none busybox true"
CMD[none.b]="$PIER_B run --rm --network none busybox true"
CMD[none.docker]="$DOCKER run --rm --network none busybox:local true"
CMD[none.podman]="$PODMAN run --rm --network none $PODRUN busybox:local true"
CMD[bridge.a]="$PIER_A run --rm busybox true"
CMD[bridge.b]="$PIER_B run --rm busybox true"
CMD[bridge.docker]="$DOCKER run --rm busybox:local true"
CMD[bridge.podman]="$PODMAN run --rm --network benchnet $PODRUN busybox:local true"
CMD[exec.a]="$PIER_A exec ex true"
CMD[exec.b]="$PIER_B exec ex true"
CMD[exec.docker]="$DOCKER exec ex true"
CMD[exec.podman]="$PODMAN exec ex true"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for m in none bridge; do
	for e in "${ENGINES[@]}"; do ${CMD[$m.$e]} >/dev/null; done # warm up
	echo "bench/engine/ab: $m x$N" >&2
	for _ in $(seq "$N"); do
		for e in "${ENGINES[@]}"; do time_ms "${CMD[$m.$e]}" >>"$W/$m.$e"; done
	done
done
$PIER_B run -d --network none --name ex busybox sleep 1000 >/dev/null
[ -n "$BIN_A" ] && $PIER_A run -d --network none --name ex busybox sleep 1000 >/dev/null
$DOCKER run -d --network none --name ex busybox:local sleep 1000 >/dev/null
$PODMAN run -d --network none $PODRUN --name ex busybox:local sleep 1000 >/dev/null
for e in "${ENGINES[@]}"; do ${CMD[exec.$e]}; done
echo "bench/engine/ab: exec x$N" >&2
for _ in $(seq "$N"); do
	for e in "${ENGINES[@]}"; do time_ms "${CMD[exec.$e]}" >>"$W/exec.$e"; done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench/engine/ab: medians of $N, $(date -u '+%F %T'), $(nproc) CPUs, load average $LOAD0 -> $LOAD1"
printf "%-8s %10s %10s %10s %10s %8s %8s\n" "" "pier A" "pier B" docker podman "A/dkr" "B/dkr"
for m in none bridge exec; do
	a=-
	[ -n "$BIN_A" ] && a=$(median "$W/$m.a")
	b=$(median "$W/$m.b") d=$(median "$W/$m.docker") p=$(median "$W/$m.podman")
	printf "%-8s %10s %10s %10s %10s %8s %8s\n" "$m" "$a" "$b" "$d" "$p" "$(ratio "$a" "$d")" "$(ratio "$b" "$d")"
done
