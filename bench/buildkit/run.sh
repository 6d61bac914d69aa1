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
# Every RUN has --network none. pierd is also driven by the peer's own
# client (CLI 20.10, DOCKER_BUILDKIT=1: POST /build?version=2), which
# separates the daemon's time from buildx's start (~0.5 s of CLI 28
# running its plugin).
# Goals: rebuild <= 0.5x the fastest peer, cold <= 0.8x the fastest peer.
#
# usage: bench/buildkit/run.sh [-n RUNS]     (default 10)
# Env: PIER_BIN (default bin/), RESULTS (default bench/results),
#      PIER_BUILDX (default: what scripts/install-buildx.sh installs),
#      PIER_OLD_BIN: binaries of an older pier (e.g. built from git into
#      /tmp): a second pierd runs them, interleaved with the others, as
#      the columns old+buildx and old+cli20 (A/B in one run);
#      WORKLOADS (default "a b c"): the workloads to run.
# After the builds it reports pierd + pier-buildkitd RSS (goal: <= 60 MB
# after a build).
# Writes $RESULTS/buildkit.json and prints the medians and ratios.
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
	pier) $PIER buildx build -q --load --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	pierv2) DOCKER_BUILDKIT=1 /usr/bin/docker -H "unix://$W/pier.sock" build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	old) /usr/local/bin/docker -H "unix://$W/pierold.sock" buildx build -q --load --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	oldv2) DOCKER_BUILDKIT=1 /usr/bin/docker -H "unix://$W/pierold.sock" build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildkit) DOCKER_BUILDKIT=1 $DOCKER build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildah) $BUILDAH bud -q --layers --pull-never --network none --runtime runc --cgroup-parent /pier/$CG-buildah -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	esac >/dev/null 2>"$W/err" || { echo "bench/buildkit: $e $ctx failed:" >&2; cat "$W/err" >&2; exit 1; }
}
quiet() { "$@" >/dev/null 2>&1; }

ENGINES=(pier pierv2 buildkit buildah)
[ -n "$OLD" ] && ENGINES=(pier old pierv2 oldv2 buildkit buildah)
# The clients' own start, for the record.
echo "client start: CLI 28 + buildx $(ms quiet $PIER buildx version) ms, CLI 20.10 $(ms quiet $DOCKER version) ms" >&2
: >"$W/samples"
for w in ${WORKLOADS:-a b c}; do
	for e in "${ENGINES[@]}"; do build "$e" "$w"; done # warm: bases, caches, page cache
	echo "bench/buildkit: $w x$N" >&2
	for _ in $(seq "$N"); do
		for e in "${ENGINES[@]}"; do
			echo "$w cold $e $(ms build "$e" "$w" --no-cache)" >>"$W/samples"
			build "$e" "$w" # the cache of this exact context, for the rebuild
			echo "$w rebuild $e $(ms build "$e" "$w")" >>"$W/samples"
		done
	done
done
cp "$W/samples" "$RESULTS/buildkit.samples"

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
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for w, mode, e, v in rows:
    med.setdefault((w, mode), {}).setdefault(e, []).append(int(v))
out = []
old = any(e == "old" for _, _, e, _ in rows)
print(f"{'workload':8} {'mode':8} {'pier+buildx':>11} {'pier+cli20':>10} {'dockerd+bk':>10} {'buildah':>8}  buildx/peer  cli20/peer  goal"
      + ("   old+buildx old+cli20 old/peer old20/peer" if old else ""))
for (w, mode), by in sorted(med.items()):
    m = {e: statistics.median(v) for e, v in by.items()}
    peer = min(m["buildkit"], m["buildah"])
    ratio, ratio2 = m["pier"] / peer, m["pierv2"] / peer
    goal = 0.5 if mode == "rebuild" else 0.8
    line = f"{w:8} {mode:8} {m['pier']:11.0f} {m['pierv2']:10.0f} {m['buildkit']:10.0f} {m['buildah']:8.0f}  {ratio:11.2f}  {ratio2:10.2f}  <= {goal} {'met' if ratio <= goal else 'MISSED'}"
    if old:
        line += f"   {m['old']:10.0f} {m['oldv2']:9.0f} {m['old'] / peer:8.2f} {m['oldv2'] / peer:10.2f}"
    print(line)
    out.append({"workload": w, "mode": mode, "median_ms": m, "runs": len(by["pier"]), "pier_over_fastest_peer": round(ratio, 3),
                "pier_cli20_over_fastest_peer": round(ratio2, 3), "goal": goal})
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
echo "bench/buildkit: wrote $RESULTS/buildkit.json" >&2
