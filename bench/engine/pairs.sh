#!/usr/bin/env bash
# Two pierds only, A/B in pairs: each pair runs A and B once, in an order
# that alternates pair by pair, on the same load; prints the medians, B/A
# and the median of the pairs' differences (B-A), which the load's drift
# moves less than either median. For changes too small for
# bench/engine/ab.sh's rounds with dockerd and podman.
#   none    `run --rm --network none busybox true`
#   bridge  `run --rm busybox true` (pier0)
#   exec    `exec ex true` into a running `sleep 1000`
#
# usage: bench/engine/pairs.sh BINDIR_A BINDIR_B [RUNS [MODES]]
#        (default 30 runs, modes "none bridge exec"). Needs root.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BINDIR_A BINDIR_B [RUNS [MODES]]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/engine/pairs: needs root" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/bench/engine/lib.sh"
declare -A BIN=([a]=$1 [b]=$2)
N=${3:-30} MODES=${4:-"none bridge exec"}
W=$(mktemp -d /tmp/pier-pairs-XXXXXX)
PIDS=()
cleanup() {
	set +e
	for x in a b; do ${BIN[$x]}/pier -H "unix://$W/$x.sock" rm -f ex >/dev/null 2>&1; done
	for p in "${PIDS[@]}"; do kill "$p" && wait "$p"; done
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
declare -A CMD
for x in a b; do
	"${BIN[$x]}/pierd" --root "$W/$x" --host "unix://$W/$x.sock" --runtime "${BIN[$x]}/pier-runtime" \
		--exec-root "$W/$x-exec" --cri-socket "" >"$W/$x.log" 2>&1 &
	PIDS+=($!)
	P="${BIN[$x]}/pier -H unix://$W/$x.sock"
	wait_for 30 $P image inspect busybox:latest || { tail "$W/$x.log" >&2; exit 1; }
	CMD[none.$x]="$P run --rm --network none busybox true"
	CMD[bridge.$x]="$P run --rm busybox true"
	CMD[exec.$x]="$P exec ex true"
	$P run -d --network none --name ex busybox sleep 1000 >/dev/null
done
L0=$(cut -d' ' -f1-3 /proc/loadavg)
for m in $MODES; do
	for x in a b; do ${CMD[$m.$x]} >/dev/null; done # warm up
	for i in $(seq "$N"); do
		o="a b"
		[ $((i % 2)) = 0 ] || o="b a"
		for x in $o; do time_ms "${CMD[$m.$x]}" >>"$W/$m.$x"; done
	done
done
echo "bench/engine/pairs: medians of $N pairs, $(date -u '+%F %T'), load average $L0 -> $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-7s %10s %10s %7s %12s\n" "" A B B/A "median B-A"
for m in $MODES; do
	paste "$W/$m.a" "$W/$m.b" | awk '{print $2-$1}' >"$W/$m.d"
	a=$(median "$W/$m.a") b=$(median "$W/$m.b")
	printf "%-7s %10s %10s %7.3f %12s\n" "$m" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b/a}')" "$(median "$W/$m.d")"
done
