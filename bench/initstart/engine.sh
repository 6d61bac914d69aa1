#!/usr/bin/env bash
# pier-init's start inside the engine, A/B (issue 16): two private pierds,
# A on PIER_BIN_A and B on PIER_BIN (default bin/), each started with
# PIER_TRACE, run `run --rm --network none busybox true` in turn, N rounds.
# Per run: the wall time, and the trace step from the container init's
# `execve /sbin/pier-init` to pierd's `start: init ready` (pier-init's start
# until its child has exec'd). To compare pier-inits alone, make A a copy of
# B's bin dir with only pier-init replaced.
#
# usage: PIER_BIN_A=/tmp/old/bin bench/initstart/engine.sh [-n RUNS]   (default 30)
set -euo pipefail

N=30
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/initstart: needs root" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN_A=${PIER_BIN_A:?PIER_BIN_A: the bin dir of A}
BIN_B=${PIER_BIN:-$REPO/bin}
. "$REPO/bench/engine/lib.sh"

W=$(mktemp -d /tmp/pier-bench-initstart-XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" && wait "$p"; done
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT

declare -A BIN=([A]=$BIN_A [B]=$BIN_B)
for v in A B; do
	PIER_TRACE=$W/trace.$v "${BIN[$v]}/pierd" --root "$W/root.$v" --host "unix://$W/$v.sock" \
		--runtime "${BIN[$v]}/pier-runtime" >"$W/pierd.$v.log" 2>&1 &
	PIDS+=($!)
done
for v in A B; do
	wait_for 30 "${BIN[$v]}/pier" -H "unix://$W/$v.sock" image inspect busybox:latest ||
		{ tail "$W/pierd.$v.log" >&2; exit 1; }
	"${BIN[$v]}/pier" -H "unix://$W/$v.sock" run --rm --network none busybox true # warm-up
done

# step FILE: ms from the last pier-init execve to the last "init ready".
step() {
	awk '/ execve \/sbin\/pier-init$/{e=$1} / pierd start: init ready$/{r=$1} END{printf "%.3f\n", (r-e)/1e6}' "$1"
}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$N"); do
	for v in A B; do
		time_ms "${BIN[$v]}/pier -H unix://$W/$v.sock run --rm --network none busybox true" >>"$W/wall.$v"
		step "$W/trace.$v" >>"$W/ready.$v"
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench/initstart/engine: medians of $N, $(date -u '+%F %T'), $(nproc) CPUs, load average $LOAD0 -> $LOAD1"
printf "%-4s %14s %22s  %s\n" "" "run --rm (ms)" "init execve->ready" "bin"
for v in A B; do
	printf "%-4s %14s %22s  %s\n" "$v" "$(median "$W/wall.$v")" "$(median "$W/ready.$v")" "${BIN[$v]}"
done
