#!/usr/bin/env bash
# Start-path timelines (issue 16): where each millisecond of a container
# start goes, as per-phase tables of medians.
#   1. `pier-runtime run` of /bin/true, from pier's own marks (PIER_TRACE);
#   2. `pier run --rm --network none busybox true` through a private pierd
#      started with PIER_TRACE (pierd, pier-monitor, preamble, init marks);
#   3. crun's and pier-runtime's `run` on the same bundle, both in crun's
#      wrapper (a private mount namespace without /sys/fs/cgroup/unified),
#      from bpftrace events of the process tree (tree.bt): crun writes no
#      marks of its own.
#
# usage: bench/timeline/run.sh [-n RUNS]     (default 20)
# Env: PIER_BIN (default bin/), RESULTS (default bench/results).
# Writes $RESULTS/timeline-*.md.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
N=20
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/timeline: needs root" >&2; exit 2; }
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
mkdir -p "$RESULTS"

W=$(mktemp -d /tmp/pier-bench-timeline-XXXXXX)
PP=
cleanup() {
	set +e
	[ -n "$PP" ] && kill "$PP" && wait "$PP"
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
(cd "$REPO" && go build -o "$W/timeline" ./bench/timeline)
make_busybox_bundle "$W/bundle" /bin/true
T=$W/trace
WRAP=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"')

echo "bench/timeline: pier-runtime run x$N" >&2
"$W/timeline" -n "$N" -trace "$T" -- "$BIN/pier-runtime" --root "$W/rt" run --bundle "$W/bundle" '{}' |
	tee "$RESULTS/timeline-pier-runtime.md"

if command -v bpftrace >/dev/null; then
	for rt in crun "$BIN/pier-runtime"; do
		name=$(basename "$rt")
		echo "bench/timeline: $name run (wrapped) under bpftrace x$N" >&2
		"$W/timeline" -n "$N" -trace "$W/bt-$name" -bpftrace "$REPO/bench/timeline/tree.bt" -- \
			"${WRAP[@]}" "$rt" --root "$W/rt-$name" run --bundle "$W/bundle" '{}' |
			tee "$RESULTS/timeline-bpf-$name.md"
	done
else
	echo "bench/timeline: no bpftrace (apt-get install bpftrace): crun's table skipped" >&2
fi

echo "bench/timeline: pier run --rm through pierd x$N" >&2
PIER_TRACE=$T "$BIN/pierd" --root "$W/pier" --host "unix://$W/pier.sock" --runtime "$BIN/pier-runtime" >"$W/pierd.log" 2>&1 &
PP=$!
wait_for 30 "$BIN/pier" -H "unix://$W/pier.sock" info || { tail "$W/pierd.log" >&2; exit 1; }
wait_for 30 "$BIN/pier" -H "unix://$W/pier.sock" image inspect busybox:latest || { echo "bench/timeline: pierd has no busybox" >&2; exit 1; }
"$W/timeline" -n "$N" -trace "$T" -- "$BIN/pier" -H "unix://$W/pier.sock" run --rm --network none busybox true |
	tee "$RESULTS/timeline-pier-run.md"

echo "bench/timeline: pier exec through pierd x$N" >&2
"$BIN/pier" -H "unix://$W/pier.sock" run -d --network none --name tl-exec busybox sleep 1000 >/dev/null
"$W/timeline" -n "$N" -trace "$T" -- "$BIN/pier" -H "unix://$W/pier.sock" exec tl-exec true |
	tee "$RESULTS/timeline-pier-exec.md"
"$BIN/pier" -H "unix://$W/pier.sock" rm -f tl-exec >/dev/null
