#!/usr/bin/env bash
# BuildKit benchmark (issue 12): pierd's BuildKit driven by the real buildx
# plugin (docker driver, --load into pier's store) against Debian's dockerd
# 20.10 with BuildKit (CLI 20.10, DOCKER_BUILDKIT=1, into dockerd's store)
# and buildah 1.28, all started privately in one temp dir, in one run,
# interleaved, on the classic builder's bench Dockerfiles (bench/build):
#   a  3 steps: FROM busybox, RUN, COPY
#   b  5 steps with a 50 MB COPY
#   c  3 stages
# each cold (--no-cache) and as a no-change rebuild (everything cached).
# Every RUN has --network none. Each daemon is driven by both clients, so
# that a ratio can compare daemons under the same client: pierd and
# dockerd through buildx (CLI 28 + buildx, docker driver: /grpc and
# /session), and through CLI 20.10 (DOCKER_BUILDKIT=1: POST
# /build?version=2 on pierd, dockerd's own BuildKit path).
# Goals: rebuild <= 0.5x the fastest peer, cold <= 0.8x the fastest peer.
# Then one no-change rebuild of a through buildx against each daemon, with
# bench/buildkit/trace.py between them, splits buildx's wall time into its
# own start, its probe requests, the build's session and the rest.
#
# usage: bench/buildkit/run.sh [-n RUNS]     (default 10)
# Env: PIER_BIN (default bin/), RESULTS (default bench/results),
#      PIER_BUILDX (default: what scripts/install-buildx.sh installs),
#      PIER_OLD_BIN: binaries of an older pier (e.g. built from git into
#      /tmp): a second pierd runs them, interleaved with the others, as
#      the columns old+buildx and old+cli20 (A/B in one run);
#      WORKLOADS (default "a b c"): the workloads to run;
#      MODES (default "cold rebuild"): "rebuild" alone measures only
#      no-change rebuilds (each engine's cache warmed once);
#      ENGINES_ONLY: a subset of pier pierv2 old oldv2 buildkit dockerbx buildah
#      (e.g. "pier old pierv2 oldv2" for a quick A/B of two piers; the
#      ratios against a peer not run print as nan).
# After the builds it reports pierd + pier-buildkitd RSS (goal: <= 60 MB
# after a build).
# Writes $RESULTS/buildkit.json (medians, ratios), buildkit.samples,
# buildkit.phases and buildkit.rss, and prints the medians and ratios.
set -euo pipefail

N=10
while getopts n: o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/buildkit: needs root" >&2; exit 2; }
for c in dockerd docker buildah jq python3 /usr/local/bin/docker; do
	command -v $c >/dev/null || { echo "bench/buildkit: $c missing (make test-deps)" >&2; exit 2; }
done

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
BUILDX=${PIER_BUILDX:-$HOME/.cache/pier/docker-config/cli-plugins/docker-buildx}
[ -x "$BIN/pierd" ] || (cd "$REPO" && make build >/dev/null)
[ -x "$BUILDX" ] || "$REPO/scripts/install-buildx.sh"
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
# shellcheck source=../lib/builds.sh
. "$REPO/bench/lib/builds.sh"
mkdir -p "$RESULTS"

W=$(mktemp -d /tmp/pier-bench-buildkit-XXXXXX)
PP= DP= PO=
OLD=${PIER_OLD_BIN:-}
CG=bench-buildkit-$$
# CLI 28 with buildx in its own config: `docker buildx build` talks to
# pierd's /grpc and /session.
PIER="/usr/local/bin/docker -H unix://$W/pier.sock"
DOCKER="/usr/bin/docker -H unix://$W/docker.sock"
BUILDAH="buildah --root $W/bh/root --runroot $W/bh/run --storage-driver overlay"
export DOCKER_CONFIG=$W/cfg
mkdir -p "$W/cfg/cli-plugins" && echo "{}" >"$W/cfg/config.json"
ln -s "$BUILDX" "$W/cfg/cli-plugins/docker-buildx"

cleanup() {
	set +e
	echo "bench/buildkit: cleaning up" >&2
	$BUILDAH rm -a >/dev/null 2>&1
	[ -n "$PO" ] && { kill "$PO"; wait "$PO"; } 2>/dev/null
	stop_pierd_dockerd
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench/buildkit: starting pierd, dockerd; importing busybox" >&2
start_pierd_dockerd
if [ -n "$OLD" ]; then
	"$OLD/pierd" --root "$W/pierold" --host "unix://$W/pierold.sock" --runtime "$OLD/pier-runtime" >"$W/pierold.log" 2>&1 &
	PO=$!
fi
make_busybox_rootfs "$W/rootfs"
wait_for 30 $PIER info || { tail "$W/pierd.log" >&2; exit 1; }
wait_for 30 $DOCKER info || { tail "$W/dockerd.log" >&2; exit 1; }
seed_busybox
$PIER load -q -i "$W/busybox.tar" >/dev/null
if [ -n "$OLD" ]; then
	wait_for 30 /usr/bin/docker -H "unix://$W/pierold.sock" info || { tail "$W/pierold.log" >&2; exit 1; }
	/usr/bin/docker -H "unix://$W/pierold.sock" load -q -i "$W/busybox.tar" >/dev/null
fi
make_contexts

# build ENGINE CTX [--no-cache]: one build, quiet, its result in the
# engine's image store; fails the run on error.
build() {
	local e=$1 ctx=$W/$2
	shift 2
	case $e in
	dockerbx) /usr/local/bin/docker -H "unix://$W/docker.sock" buildx build -q --load --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	pier) $PIER buildx build -q --load --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	pierv2) DOCKER_BUILDKIT=1 /usr/bin/docker -H "unix://$W/pier.sock" build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	old) /usr/local/bin/docker -H "unix://$W/pierold.sock" buildx build -q --load --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	oldv2) DOCKER_BUILDKIT=1 /usr/bin/docker -H "unix://$W/pierold.sock" build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildkit) DOCKER_BUILDKIT=1 $DOCKER build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildah) $BUILDAH bud -q --layers --pull-never --network none --runtime runc --cgroup-parent /pier/$CG-buildah -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	esac >/dev/null 2>"$W/err" || { echo "bench/buildkit: $e $ctx failed:" >&2; cat "$W/err" >&2; exit 1; }
}
quiet() { "$@" >/dev/null 2>&1; }

ENGINES=(pier pierv2 buildkit dockerbx buildah)
[ -n "$OLD" ] && ENGINES=(pier old pierv2 oldv2 buildkit dockerbx buildah)
[ -n "${ENGINES_ONLY:-}" ] && read -ra ENGINES <<<"$ENGINES_ONLY"
MODES=${MODES:-cold rebuild}
# The clients' own start, for the record.
echo "client start: CLI 28 + buildx $(ms quiet $PIER buildx version) ms, CLI 20.10 $(ms quiet $DOCKER version) ms" >&2
: >"$W/samples"
for w in ${WORKLOADS:-a b c}; do
	for e in "${ENGINES[@]}"; do build "$e" "$w"; done # warm: bases, caches, page cache
	echo "bench/buildkit: $w x$N" >&2
	for _ in $(seq "$N"); do
		for e in "${ENGINES[@]}"; do
			if [[ $MODES == *cold* ]]; then
				echo "$w cold $e $(ms build "$e" "$w" --no-cache)" >>"$W/samples"
				build "$e" "$w" # the cache of this exact context, for the rebuild
			fi
			[[ $MODES == *rebuild* ]] && echo "$w rebuild $e $(ms build "$e" "$w")" >>"$W/samples"
		done
	done
done
cp "$W/samples" "$RESULTS/buildkit.samples"

# phases NAME SOCKET: one no-change rebuild of a through buildx against
# the daemon on SOCKET, traced (trace.py); prints where its time went.
phases() {
	local tp s e
	rm -f "$W/trace.sock"
	python3 "$REPO/bench/buildkit/trace.py" "$W/trace.sock" "$2" >"$W/trace.$1" 2>&1 &
	tp=$!
	wait_for 10 test -S "$W/trace.sock"
	s=$(date +%s%3N)
	/usr/local/bin/docker -H "unix://$W/trace.sock" buildx build -q --load --network none -t bench-a "$W/a" >/dev/null 2>"$W/err" ||
		{ cat "$W/err" >&2; kill $tp; exit 1; }
	e=$(date +%s%3N)
	kill $tp
	wait $tp 2>/dev/null || true
	python3 - "$1" "$s" "$e" "$W/trace.$1" <<'PY'
import collections, sys
name, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ev = [l.split() for l in open(sys.argv[4]) if l.strip()]
reqs = [(float(t), c, path) for t, c, d, *r in ev if d == ">" for path in [r[1]]]
sess = [x for x in reqs if x[2] == "/session"][-1]
close = [float(t) for t, c, d, *r in ev if c == sess[1] and d == "close"][0]
first = float(ev[0][0])
n = collections.Counter(p.split("?")[0] for _, _, p in reqs)
print(f"{name}: total {end - start:.0f} ms = buildx start {first - start:.0f} + probes {sess[0] - first:.0f}"
      f" + build session {close - sess[0]:.0f} + after it {end - close:.0f}; requests: "
      + ", ".join(f"{p} {k}" for p, k in sorted(n.items())))
PY
}
[[ " ${ENGINES[*]} " == *" dockerbx "* ]] && for _ in 1 2 3; do
	phases pierd "$W/pier.sock"
	phases dockerd "$W/docker.sock"
done | tee "$W/phases" >&2
[ -f "$W/phases" ] && cp "$W/phases" "$RESULTS/buildkit.phases"

# rss PID...: the summed VmRSS of PIDs, in MB (KiB/1024), with anon/file.
rss() {
	local p a=0 f=0
	for p in "$@"; do
		a=$((a + $(awk '/^RssAnon/ {print $2}' "/proc/$p/status"))) f=$((f + $(awk '/^RssFile/ {print $2}' "/proc/$p/status")))
	done
	awk -v a=$a -v f=$f 'BEGIN {printf "%.1f MB (anon %.1f, file-backed %.1f)", (a+f)/1024, a/1024, f/1024}'
}
# children PID NAME: PID's children named NAME.
children() { pgrep -P "$1" -x "$2" || true; }
sleep 5
echo "after the builds (5 s idle): pierd + pier-buildkitd $(rss $PP $(children $PP pier-buildkitd))" | tee "$W/rss" >&2
[ -n "$OLD" ] && echo "old: pierd + pier-buildkitd $(rss $PO $(children $PO pier-buildkitd))" | tee -a "$W/rss" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$W/rss" >&2
cp "$W/rss" "$RESULTS/buildkit.rss"

python3 - "$W/samples" "$RESULTS/buildkit.json" <<'PY'
import collections, json, math, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for w, mode, e, v in rows:
    med.setdefault((w, mode), {}).setdefault(e, []).append(int(v))
out = []
old = any(e == "old" for _, _, e, _ in rows)
# peer: the fastest of dockerd (either client) and buildah. bx/dbx and
# 20/d20 compare the daemons under one client: pierd / dockerd, both
# through buildx, and both through CLI 20.10.
print(f"{'workload':8} {'mode':8} {'pier+bx':>8} {'pier+cli20':>10} {'dockerd+bx':>10} {'dockerd+cli20':>13} {'buildah':>8}"
      f"  {'bx/peer':>7} {'20/peer':>7} {'bx/dbx':>6} {'20/d20':>6}  goal"
      + ("   old+bx old+cli20 oldbx/dbx old20/d20" if old else ""))
for (w, mode), by in sorted(med.items()):
    m = collections.defaultdict(lambda: math.nan, {e: statistics.median(v) for e, v in by.items()})
    peer = min(m["buildkit"], m["dockerbx"], m["buildah"])
    r = {"pier_over_fastest_peer": m["pier"] / peer, "pier_cli20_over_fastest_peer": m["pierv2"] / peer,
         "pier_over_dockerd_same_client_buildx": m["pier"] / m["dockerbx"],
         "pier_over_dockerd_same_client_cli20": m["pierv2"] / m["buildkit"]}
    goal = 0.5 if mode == "rebuild" else 0.8
    met = "met" if min(r["pier_over_fastest_peer"], r["pier_cli20_over_fastest_peer"]) <= goal else "MISSED"
    line = (f"{w:8} {mode:8} {m['pier']:8.0f} {m['pierv2']:10.0f} {m['dockerbx']:10.0f} {m['buildkit']:13.0f} {m['buildah']:8.0f}"
            f"  {r['pier_over_fastest_peer']:7.2f} {r['pier_cli20_over_fastest_peer']:7.2f}"
            f" {r['pier_over_dockerd_same_client_buildx']:6.2f} {r['pier_over_dockerd_same_client_cli20']:6.2f}  <= {goal} {met}")
    if old:
        line += f"   {m['old']:6.0f} {m['oldv2']:10.0f} {m['old'] / m['dockerbx']:9.2f} {m['oldv2'] / m['buildkit']:9.2f}"
    print(line)
    out.append({"workload": w, "mode": mode, "median_ms": dict(m), "runs": len(next(iter(by.values()))), "goal": goal,
                **{k: round(v, 3) for k, v in r.items()}})
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
echo "bench/buildkit: wrote $RESULTS/buildkit.json" >&2
