#!/usr/bin/env bash
# Network benchmark (issue 6): pier's bridge against host loopback, Debian's
# docker.io (20.10) and podman (4.3), all started privately in one temp dir,
# in one run:
#   iperf   TCP throughput host -> container and container -> host over the
#           bridge (iperf3 server in the container's netns, entered with
#           nsenter from the host), against the same over host loopback
#   conn    connection rate of N sequential HTTP GETs, one connection each,
#           to a busybox httpd behind `-p 127.0.0.1:PORT:80`: pier's kernel
#           DNAT against Docker's userland proxy, and pier's container IP
#           reached directly (no NAT) as the floor
#   run     `run --rm busybox true` on the default bridge against
#           `--network none`, medians of N, interleaved, for every engine
# Goal: the bridge adds <= 10 ms to a run (Docker adds ~85 ms, Podman ~250 ms).
#
# The peers are kept off the host's firewall: dockerd runs with
# --iptables=false --ip-forward=false on a bridge this script creates (its
# published ports then go through docker-proxy, as they do from 127.0.0.1
# anyway), podman on a private CNI network without masquerade or firewall
# plugin. Both figures are therefore lower bounds of their usual bridge cost.
#
# usage: bench/network/run.sh [-n RUNS] [-r REQUESTS] [-i IPERF_RUNS]
#        (defaults 10, 500, 3)
# Env: PIER_BIN (default bin/, built with `make build` if missing),
#      RESULTS (default bench/results).
# Writes $RESULTS/network.txt and $RESULTS/network.json.
set -euo pipefail

# A child subreaper, so that shims, conmons and proxies orphaned by their
# starters are re-parented to this shell (which reaps them).
if [ -z "${PIER_BENCH_SUBREAPER:-}" ]; then
	exec env PIER_BENCH_SUBREAPER=1 python3 -c '
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

N=10 REQ=500 IPERF_RUNS=3 IPERF_SECS=3
while getopts n:r:i: o; do
	case $o in
	n) N=$OPTARG ;;
	r) REQ=$OPTARG ;;
	i) IPERF_RUNS=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS] [-r REQUESTS] [-i IPERF_RUNS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/network: needs root" >&2; exit 2; }
for c in iperf3 nsenter jq go ip; do
	command -v $c >/dev/null || { echo "bench/network: $c missing (apt-get install iperf3 jq)" >&2; exit 2; }
done
DOCKER_ON=0 PODMAN_ON=0
command -v dockerd >/dev/null && command -v docker >/dev/null && command -v docker-proxy >/dev/null && DOCKER_ON=1
command -v podman >/dev/null && [ -x /usr/lib/cni/bridge ] && PODMAN_ON=1
[ $DOCKER_ON = 1 ] || echo "bench/network: docker.io not installed: skipping docker" >&2
[ $PODMAN_ON = 1 ] || echo "bench/network: podman or CNI plugins not installed: skipping podman" >&2

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
[ -x "$BIN/pierd" ] && [ -x "$BIN/pier" ] || (cd "$REPO" && make build >/dev/null)
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
. "$REPO/bench/network/lib.sh"
mkdir -p "$RESULTS"

W=$(mktemp -d /tmp/pier-bench-network-XXXXXX)
PP= DP= SERVERS=
PIER="$BIN/pier -H unix://$W/pier.sock"
DOCKER="docker -H unix://$W/docker.sock"
PODMAN="podman --root $W/pm --runroot $W/pmrun --cgroup-manager cgroupfs --events-backend none --runtime runc --network-config-dir $W/cni"
export CONTAINERS_CONF=$W/containers.conf
CG=bench-network-$$
PODRUN="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent /pier/$CG-podman"
# The bridges of this run: the peers', which it creates, and the default
# bridge of its pierd (named after the daemon's root), checked for at the end.
DBR=pbench-dkr0 PBR=pbench-pod0
CNI_BEFORE=$([ -e /var/lib/cni ] && echo 1 || echo 0)
PIERBR=pier0-$(printf %s "$W/pier" | sha256sum | cut -c1-6)
HTTPD="sh -c 'mkdir -p /www && echo ok >/www/index.html && exec httpd -f -p 80 -h /www'"

trap cleanup EXIT
trap 'exit 130' INT TERM

start_daemons
echo "bench/network: warming up" >&2
RUN_P="$PIER run --rm busybox true"
RUN_PN="$PIER run --rm --network none busybox true"
RUN_D="$DOCKER run --rm busybox:local true"
RUN_DN="$DOCKER run --rm --network none busybox:local true"
RUN_M="$PODMAN run --rm --network pbench $PODRUN busybox:local true"
RUN_MN="$PODMAN run --rm --network none $PODRUN busybox:local true"
$RUN_P >/dev/null && $RUN_PN >/dev/null
[ $DOCKER_ON = 0 ] || { $RUN_D >/dev/null && $RUN_DN >/dev/null; }
[ $PODMAN_ON = 0 ] || { $RUN_M >/dev/null && $RUN_MN >/dev/null; }

echo "bench/network: run --rm true, bridge and none, x$N" >&2
for _ in $(seq "$N"); do
	time_ms "$RUN_P" >>"$W/run.bridge.pier"
	time_ms "$RUN_PN" >>"$W/run.none.pier"
	if [ $DOCKER_ON = 1 ]; then
		time_ms "$RUN_D" >>"$W/run.bridge.docker"
		time_ms "$RUN_DN" >>"$W/run.none.docker"
	fi
	if [ $PODMAN_ON = 1 ]; then
		time_ms "$RUN_M" >>"$W/run.bridge.podman"
		time_ms "$RUN_MN" >>"$W/run.none.podman"
	fi
done

echo "bench/network: iperf3 ${IPERF_SECS}s x$IPERF_RUNS each way" >&2
$PIER run -d --name ipf busybox sleep 1000 >/dev/null
IPF_PID=$($PIER inspect -f '{{.State.Pid}}' ipf)
IPF_IP=$(container_ip "$PIER" ipf)
[ -n "$IPF_IP" ] || { echo "bench/network: container ipf has no address" >&2; exit 1; }
NS="nsenter --net=/proc/$IPF_PID/ns/net"
for _ in $(seq "$IPERF_RUNS"); do
	iperf_gbps "$NS" "$IPF_IP" >>"$W/iperf.in.bridge"
	iperf_gbps "" 127.0.0.1 >>"$W/iperf.in.lo"
	iperf_gbps "$NS" "$IPF_IP" -R >>"$W/iperf.out.bridge"
	iperf_gbps "" 127.0.0.1 -R >>"$W/iperf.out.lo"
done
$PIER rm -f ipf >/dev/null

echo "bench/network: $REQ connections through published ports x3" >&2
go build -o "$W/connrate" "$REPO/bench/network"
eval "$PIER run -d --name web -p 127.0.0.1:18081:80 busybox $HTTPD" >/dev/null
WEB_IP=$(container_ip "$PIER" web)
[ $DOCKER_ON = 0 ] || eval "$DOCKER run -d --name web -p 127.0.0.1:18082:80 busybox:local $HTTPD" >/dev/null
for _ in 1 2 3; do
	"$W/connrate" -n "$REQ" http://127.0.0.1:18081/ >>"$W/conn.pier"
	"$W/connrate" -n "$REQ" "http://$WEB_IP/" >>"$W/conn.direct"
	[ $DOCKER_ON = 0 ] || "$W/connrate" -n "$REQ" http://127.0.0.1:18082/ >>"$W/conn.docker"
done
$PIER rm -f web >/dev/null
[ $DOCKER_ON = 0 ] || $DOCKER rm -f web >/dev/null

report
