#!/usr/bin/env bash
# Monitor benchmark (issue 5, "Goal for the monitor: <= 1 MB RSS per
# container"): N idle containers (`sleep 1000`) each watched by its own
# monitor, and the monitors' memory from /proc/PID/smaps_rollup, median per
# monitor, for:
#   pier-monitor          as pierd runs it (GOMAXPROCS=1)
#   pier-monitor untuned  the same code with the Go runtime's defaults
#   untuned GOGC=off      the defaults but no collector below a 4 MiB limit
#   conmon                Podman's monitor (C), when /usr/bin/conmon exists
# Every monitor drives pier-runtime, so only the monitor differs.
#
# Rss counts the shared binary text (paid once for all monitors: the page
# cache shares it); Private_Dirty (plus the small Private_Clean) is what each
# additional container costs. Pss splits shared pages among their users.
#
# usage: bench/monitor/run.sh [-n CONTAINERS]      (default 10)
# Env: PIER_BIN (default bin/, built with `make build` if missing),
#      RESULTS (default bench/results).
# Prints the table; writes $RESULTS/monitor.txt.
set -euo pipefail

# Run as a child subreaper, so that monitors and conmons orphaned by their
# starters are re-parented to this shell, which reaps them, rather than to
# a PID 1 that may not (this machine's does not).
if [ -z "${PIER_BENCH_SUBREAPER:-}" ]; then
	exec env PIER_BENCH_SUBREAPER=1 python3 -c '
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RESULTS=${RESULTS:-$REPO/bench/results}
N=10
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/monitor: needs root" >&2; exit 2; }
# shellcheck source=../lib/busybox.sh
. "$REPO/bench/lib/busybox.sh"

BIN=${PIER_BIN:-$REPO/bin}
[ -x "$BIN/pier-monitor" ] && [ -x "$BIN/pier-runtime" ] || (cd "$REPO" && make build >/dev/null)
RUNTIME=$BIN/pier-runtime

tmp=$(mktemp -d /tmp/pier-bench-monitor-XXXXXX)
ROOT=$tmp/runtime-root
ids=()
cleanup() {
	for id in "${ids[@]}"; do
		"$RUNTIME" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	# Monitors exit once their container is gone; reap them.
	wait
	rm -rf "$tmp"
}
trap cleanup EXIT

make_busybox_bundle "$tmp/bundle" sleep 1000
(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -X main.tune=off' -o "$tmp/pier-monitor-untuned" ./cmd/pier-monitor)

# start_pier ID MONITOR [ENV...]: a container under pier-monitor; prints
# the monitor's pid.
start_pier() {
	local id=$1 mon=$2 d=$tmp/$1
	shift 2
	mkdir -p "$d"
	jq -n --arg rt "$RUNTIME" --arg root "$ROOT" --arg id "$id" --arg b "$tmp/bundle" --arg d "$d" \
		--arg cg "/sys/fs/cgroup/memory/pier/$id" \
		'{runtime:$rt, runtimeRoot:$root, id:$id, bundle:$b, logPath:($d+"/json.log"),
		  statusFile:($d+"/status.json"), pidFile:($d+"/init.pid"),
		  monitorPidFile:($d+"/monitor.pid"), cgroups:[$cg]}' >"$d/config.json"
	env "$@" setsid "$mon" "$d/config.json" </dev/null >/dev/null 2>>"$tmp/monitor.err" &
	for _ in $(seq 100); do
		[ -s "$d/monitor.pid" ] && [ -s "$d/init.pid" ] && break
		sleep 0.05
	done
	[ -s "$d/init.pid" ] || { echo "bench/monitor: $id did not start" >&2; cat "$tmp/monitor.err" >&2; exit 1; }
	cat "$d/monitor.pid"
}

# start_conmon ID: the same container under conmon; prints conmon's pid.
start_conmon() {
	local id=$1 d=$tmp/$1
	mkdir -p "$d"
	/usr/bin/conmon --api-version 1 -c "$id" -u "$id" -n "$id" -r "$RUNTIME" \
		--runtime-arg --root --runtime-arg "$ROOT" -b "$tmp/bundle" -p "$d/init.pid" \
		-l "k8s-file:$d/ctr.log" --exit-dir "$d" --socket-dir-path "$d" \
		--conmon-pidfile "$d/conmon.pid" --log-level error </dev/null >/dev/null 2>>"$tmp/monitor.err"
	"$RUNTIME" --root "$ROOT" start "$id" 2>>"$tmp/monitor.err"
	cat "$d/conmon.pid"
}

# measure NAME PID...: median Rss, Pss, Private_Dirty, Private_Clean (kB)
# and threads over the pids.
measure() {
	local name=$1
	shift
	for pid in "$@"; do
		awk -v thr="$(awk '/^Threads:/{print $2}' "/proc/$pid/status")" \
			'/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_Dirty:/{d=$2} /^Private_Clean:/{c=$2}
			 END{print r, p, d, c, thr}' "/proc/$pid/smaps_rollup"
	done | awk -v name="$name" -v n=$# '
		function isort(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		}
		{ for (i = 1; i <= 5; i++) v[i, NR] = $i }
		END {
			m = int((n + 1) / 2)
			printf "%-24s", name
			for (i = 1; i <= 5; i++) {
				for (j = 1; j <= n; j++) a[j] = v[i, j]
				isort(a, n)
				printf (i < 5 ? " %8d" : " %7d"), a[m]
			}
			printf "\n"
		}'
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st%% *}" != Z ]
}

# run_variant NAME STARTER [ARGS...]: N containers, measured, then removed.
run_variant() {
	local name=$1 pids=() id
	shift
	for i in $(seq "$N"); do
		id=bm$$-${#ids[@]}
		ids+=("$id")
		pids+=("$("$1" "$id" "${@:2}")")
	done
	sleep 1 # idle: whatever start-up allocated has settled
	measure "$name" "${pids[@]}" | tee -a "$out"
	for id in "${ids[@]}"; do
		"$RUNTIME" --root "$ROOT" kill "$id" KILL >/dev/null 2>&1 || true
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
	done
	for id in "${ids[@]}"; do
		"$RUNTIME" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	ids=()
}

mkdir -p "$RESULTS"
out=$RESULTS/monitor.txt
: >"$out"
sync # freshly built binaries' page-cache pages would count as dirty
{
	echo "monitor memory, median of $N monitors each watching an idle container (kB)"
	printf "%-24s %8s %8s %8s %8s %7s\n" monitor Rss Pss Pr_Dirty Pr_Clean threads
} | tee -a "$out"
# GOMAXPROCS=1 in the environment, as monitor.Start sets it: the runtime
# then never starts a second P's thread, which runtime.GOMAXPROCS(1) in main
# comes too late to prevent.
run_variant "pier-monitor" start_pier "$BIN/pier-monitor" GOMAXPROCS=1
run_variant "pier-monitor untuned" start_pier "$tmp/pier-monitor-untuned"
run_variant "GOMAXPROCS=1 GOGC=off" start_pier "$tmp/pier-monitor-untuned" GOMAXPROCS=1 GOGC=off GOMEMLIMIT=4MiB
if [ -x /usr/bin/conmon ]; then
	run_variant "conmon $(/usr/bin/conmon --version | awk 'NR==1{print $3}')" start_conmon
else
	echo "conmon: not installed (issue 5's figure: 2.0 MB Rss)" | tee -a "$out"
fi
echo "per-container cost = Private_Dirty + Private_Clean; Rss adds the binary's pages, shared by all monitors" | tee -a "$out"
