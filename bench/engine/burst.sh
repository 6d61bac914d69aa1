#!/usr/bin/env bash
# pierd alone, A/B: binaries from several directories measured in turns, in
# the same minutes, each turn with a fresh pierd on a fresh root (which
# builds its busybox image at start, as bench/engine/run.sh's does):
#   rss0    pierd's RSS 3 s after start (anon/file split in the log)
#   rss     after 3 `run --rm` and 3 `exec`, 2 s later
#   burst   wall time of 50 concurrent `run -d --network none busybox
#           sleep 1000`, then `rm -f` of all, ROUNDS times per turn
# Prints each turn's figures and, per directory, the medians and the load
# average at the end.
#
# usage: bench/engine/burst.sh [-t TURNS] [-r ROUNDS] BINDIR...
#        (defaults: 3 turns, 2 rounds; e.g. /tmp/old/bin bin)
set -euo pipefail

TURNS=3 ROUNDS=2
while getopts t:r: o; do
	case $o in
	t) TURNS=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-t TURNS] [-r ROUNDS] BINDIR..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-t TURNS] [-r ROUNDS] BINDIR..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/engine/burst: needs root" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/bench/engine/lib.sh"

OUT=$(mktemp -d /tmp/pier-burst-XXXXXX)
W= PP=
stop() {
	set +e
	if [ -n "$PP" ]; then
		$PIER rm -f $($PIER ps -aq 2>/dev/null) >/dev/null 2>&1
		kill "$PP" 2>/dev/null
		wait "$PP" 2>/dev/null
	fi
	PP=
	[ -n "$W" ] || return 0
	for p in $(procs_matching "$W"); do kill -9 "$p" 2>/dev/null; done
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$W"
	W=
}
trap 'stop; rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM

# start BINDIR: a fresh pierd; its exec root (if it has one) in $W too.
start() {
	local bin=$1 extra=()
	W=$(mktemp -d /tmp/pier-burst-w-XXXXXX)
	"$bin/pierd" --help 2>&1 | grep -c -- -exec-root >/dev/null && extra=(--exec-root "$W/exec")
	"$bin/pierd" --root "$W/pier" --host "unix://$W/pier.sock" --runtime "$bin/pier-runtime" "${extra[@]}" >"$W/pierd.log" 2>&1 &
	PP=$!
	PIER="$bin/pier -H unix://$W/pier.sock"
	wait_for 30 $PIER image inspect busybox:latest || { tail "$W/pierd.log" >&2; exit 1; }
}

for t in $(seq "$TURNS"); do
	for bin in "$@"; do
		k=$(echo "$bin" | tr / _)
		start "$bin"
		sleep 3
		rss_kb "$PP" >>"$OUT/rss0.$k"
		s0=$(rss_split "$PP")
		for _ in 1 2 3; do $PIER run --rm --network none busybox true >/dev/null; done
		$PIER run -d --network none --name ex busybox sleep 1000 >/dev/null
		for _ in 1 2 3; do $PIER exec ex true; done
		$PIER rm -f ex >/dev/null
		sleep 2
		rss_kb "$PP" >>"$OUT/rss.$k"
		s1=$(rss_split "$PP")
		b=()
		for _ in $(seq "$ROUNDS"); do
			s=$(starts50 "$PIER run -d --network none busybox sleep 1000")
			echo "$s" >>"$OUT/burst.$k"
			b+=("$s")
			$PIER rm -f $($PIER ps -aq) >/dev/null
		done
		echo "turn $t $bin: rss0 $(tail -1 "$OUT/rss0.$k") kB ($s0), rss $(tail -1 "$OUT/rss.$k") kB ($s1), 50 starts ${b[*]} s"
		stop
	done
done
for bin in "$@"; do
	k=$(echo "$bin" | tr / _)
	echo "median $bin: rss0 $(median "$OUT/rss0.$k") kB, rss $(median "$OUT/rss.$k") kB, 50 starts $(median "$OUT/burst.$k") s (n=$(wc -l <"$OUT/burst.$k"))"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
