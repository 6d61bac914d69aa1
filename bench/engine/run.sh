#!/usr/bin/env bash
# Engine benchmark (issue 5): pier against Debian's docker.io (20.10) and
# podman (4.3), all started privately in one temp dir, in one run:
#   run     `run --rm --network none busybox true`, N times, interleaved
#   runbridge `run --rm busybox true` on the default bridge, N times,
#           interleaved (docker: a private bridge without iptables; podman: a
#           private CNI network without masquerade or firewall rules; pier:
#           its own bridge and nft table)
#   exec    `exec CTR true` into a running `sleep 1000`, N times, interleaved
#   daemon  idle RSS: pierd (with pier-buildkitd, if one ran); dockerd + its
#           containerd; podman has none; after the run/exec rounds, and 3 s
#           after start (daemon0, with pierd's anon/file split)
#   monitor per-container process with 10 idle containers, median Rss and
#           Private_Dirty: pier-monitor, containerd-shim-runc-v2, conmon
#           and the Private_Dirty of each pier container's pier-init
#   start50 wall time of 50 concurrent `run -d` (once per engine)
# Goals: run <= 0.12x docker, runbridge <= 0.15x docker, exec <= 0.25x docker, daemon <= 20 MB,
# monitor + pier-init <= 1.5 MB private, 50 starts <= 1.5 s (issue 16).
#
# usage: bench/engine/run.sh [-n RUNS]     (default 10)
# Env: PIER_BIN (default bin/, built with `make build` if missing),
#      RESULTS (default bench/results).
# Writes $RESULTS/engine.json and $RESULTS/engine.svg, and copies the chart to
# bench/engine/engine.svg (committed, shown by the README).
set -euo pipefail

# A child subreaper, so that shims and conmons orphaned by their starters are
# re-parented to this shell (which reaps them) rather than to a PID 1 that
# may not reap.
if [ -z "${PIER_BENCH_SUBREAPER:-}" ]; then
	exec env PIER_BENCH_SUBREAPER=1 python3 -c '
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

N=10
while getopts n: o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/engine: needs root" >&2; exit 2; }
for c in dockerd docker podman conmon jq; do
	command -v $c >/dev/null || { echo "bench/engine: $c missing (apt-get install docker.io podman jq)" >&2; exit 2; }
done

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
[ -x "$BIN/pierd" ] && [ -x "$BIN/pier" ] || (cd "$REPO" && make build >/dev/null)
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
mkdir -p "$RESULTS"

W=$(mktemp -d /tmp/pier-bench-engine-XXXXXX)
PP= DP=
PIER="$BIN/pier -H unix://$W/pier.sock"
DOCKER="docker -H unix://$W/docker.sock"
PODMAN="podman --root $W/pm --runroot $W/pmrun --cgroup-manager cgroupfs --events-backend none --runtime runc --network-config-dir $W/cni"
# The peers' cgroups go under pier/ too, as everything this repo creates.
CG=bench-engine-$$
BR=pbr$$
PODRUN="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /pier/$CG-podman"

cleanup() {
	set +e
	echo "bench/engine: cleaning up" >&2
	[ -n "$PP" ] && $PIER rm -f $($PIER ps -aq 2>/dev/null) >/dev/null 2>&1
	[ -n "$DP" ] && $DOCKER rm -f $($DOCKER ps -aq 2>/dev/null) >/dev/null 2>&1
	$PODMAN rm -af -t 0 >/dev/null 2>&1
	stop_pierd_dockerd
	ip link del "$BR" 2>/dev/null
	ip link del "cni-$BR" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench/engine: starting pierd, dockerd; importing busybox" >&2
# docker's default bridge, private: an existing bridge (dockerd takes its
# address as the gateway); podman's, a CNI network in $W without firewall
# or masquerade rules. Neither touches the host's iptables or sysctls.
ip link add "$BR" type bridge
ip addr add "10.213.$((RANDOM % 200 + 20)).1/24" dev "$BR"
ip link set "$BR" up
start_pierd_dockerd "$BR"
mkdir -p "$W/cni"
cat >"$W/cni/benchnet.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "benchnet", "plugins": [{"type": "bridge", "bridge": "cni-$BR", "isGateway": true,
 "ipMasq": false, "hairpinMode": true, "ipam": {"type": "host-local", "dataDir": "$W/cni-ipam",
 "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": "10.214.$((RANDOM % 200 + 20)).0/24"}]]}}]}
JSON
make_busybox_rootfs "$W/rootfs"
wait_for 30 $PIER info || { tail "$W/pierd.log" >&2; exit 1; }
wait_for 30 $DOCKER info || { tail "$W/dockerd.log" >&2; exit 1; }
tar -C "$W/rootfs" -c . | $DOCKER import - busybox:local >/dev/null
tar -C "$W/rootfs" -c . | $PODMAN import - busybox:local >/dev/null 2>&1
wait_for 30 $PIER image inspect busybox:latest || { echo "bench/engine: pierd has no busybox" >&2; exit 1; }

# Idle RSS of the daemons before any container: pierd 3 s after its busybox
# import settled (the import's heap is returned by then), dockerd + its
# containerd likewise. pier-buildkitd starts only with a build, so none runs.
sleep 3
D_PIER_START=$(rss_kb "$PP") D_PIER_SPLIT=$(rss_split "$PP")
CP=$(pgrep -P "$DP" -x containerd || true)
D_DOCKER_START=$(rss_kb "$DP")
[ -z "$CP" ] || D_DOCKER_START=$((D_DOCKER_START + $(rss_kb "$CP")))

# interleave KEY WHAT P D M: warms each engine's command up once, then
# times them interleaved N times into $W/KEY.{pier,docker,podman}.
interleave() {
	local c
	for c in "$3" "$4" "$5"; do $c >/dev/null; done
	echo "bench/engine: $2 x$N" >&2
	for _ in $(seq "$N"); do
		time_ms "$3" >>"$W/$1.pier"
		time_ms "$4" >>"$W/$1.docker"
		time_ms "$5" >>"$W/$1.podman"
	done
}
interleave run "run --rm" "$PIER run --rm --network none busybox true" \
	"$DOCKER run --rm --network none busybox:local true" \
	"$PODMAN run --rm --network none $PODRUN busybox:local true"
interleave runbridge "run --rm, bridge" "$PIER run --rm busybox true" \
	"$DOCKER run --rm busybox:local true" \
	"$PODMAN run --rm --network benchnet $PODRUN busybox:local true"

echo "bench/engine: exec x$N" >&2
$PIER run -d --network none --name ex busybox sleep 1000 >/dev/null
$DOCKER run -d --network none --name ex busybox:local sleep 1000 >/dev/null
$PODMAN run -d --network none $PODRUN --name ex busybox:local sleep 1000 >/dev/null
for c in "$PIER" "$DOCKER" "$PODMAN"; do $c exec ex true; done
for _ in $(seq "$N"); do
	time_ms "$PIER exec ex true" >>"$W/exec.pier"
	time_ms "$DOCKER exec ex true" >>"$W/exec.docker"
	time_ms "$PODMAN exec ex true" >>"$W/exec.podman"
done
$PIER rm -f ex >/dev/null; $DOCKER rm -f ex >/dev/null; $PODMAN rm -f -t 0 ex >/dev/null 2>&1

echo "bench/engine: daemon idle RSS" >&2
sleep 2
D_PIER=$(rss_kb "$PP") D_PIER_SPLIT_AFTER=$(rss_split "$PP")
# BuildKit's process, were one running, is pierd's memory too.
for p in $(procs_matching "$W/pier/buildkit"); do
	[ "$(basename "$(readlink "/proc/$p/exe" 2>/dev/null)")" = pier-buildkitd ] && D_PIER=$((D_PIER + $(rss_kb "$p")))
done
CP=$(pgrep -P "$DP" -x containerd || true)
D_DOCKER=$(rss_kb "$DP")
[ -z "$CP" ] || D_DOCKER=$((D_DOCKER + $(rss_kb "$CP")))

echo "bench/engine: 10 idle containers each" >&2
for i in $(seq 10); do
	$PIER run -d --network none --name idle$i busybox sleep 1000 >/dev/null
	$DOCKER run -d --network none --name idle$i busybox:local sleep 1000 >/dev/null
	$PODMAN run -d --network none $PODRUN --name idle$i busybox:local sleep 1000 >/dev/null
done
sleep 2
monitor_mem pier-monitor "$W" >"$W/mon.pier"
monitor_mem containerd-shim-runc-v2 "$W" >"$W/mon.docker"
monitor_mem conmon "$W" >"$W/mon.podman"
init_mem pier-init "$W" >"$W/init.pier"
for c in "$PIER" "$DOCKER"; do $c rm -f $(seq -f 'idle%g' 10) >/dev/null; done
$PODMAN rm -f -t 0 $(seq -f 'idle%g' 10) >/dev/null 2>&1
for e in pier docker podman; do
	[ "$(wc -l <"$W/mon.$e")" = 10 ] || { echo "bench/engine: found $(wc -l <"$W/mon.$e") $e monitors, not 10" >&2; exit 1; }
done
[ "$(wc -l <"$W/init.pier")" = 10 ] || { echo "bench/engine: found $(wc -l <"$W/init.pier") pier-inits, not 10" >&2; exit 1; }

echo "bench/engine: 50 concurrent run -d" >&2
S_PIER=$(starts50 "$PIER run -d --network none busybox sleep 1000")
$PIER rm -f $($PIER ps -aq) >/dev/null || true
S_DOCKER=$(starts50 "$DOCKER run -d --network none busybox:local sleep 1000")
$DOCKER rm -f $($DOCKER ps -aq) >/dev/null || true
S_PODMAN=$(starts50 "$PODMAN run -d --network none $PODRUN busybox:local sleep 1000")
$PODMAN rm -af -t 0 >/dev/null 2>&1

report
