#!/usr/bin/env bash
# Build benchmark (issue 11): pier's classic builder against Debian's
# dockerd 20.10 (classic builder and BuildKit) and buildah 1.28, all
# started privately in one temp dir, in one run, interleaved:
#   a  3 steps: FROM busybox, RUN, COPY
#   b  5 steps with a 50 MB COPY
#   c  3 stages
# each cold (--no-cache) and as a no-change rebuild (everything cached).
# pier and dockerd are driven by the same client (Debian's docker 20.10,
# DOCKER_BUILDKIT=0 or 1), and pier also by its own CLI (`pier build`,
# which keeps the context synced in pierd and sends only what changed);
# every RUN has --network none.
# Goals: rebuild <= 0.5x the fastest peer, cold <= 0.8x the fastest peer.
#
# usage: bench/build/run.sh [-n RUNS]     (default 10)
# Env: PIER_BIN (default bin/), RESULTS (default bench/results).
# Writes $RESULTS/build.json and prints the medians and ratios.
set -euo pipefail

N=10
while getopts n: o; do
	case $o in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench/build: needs root" >&2; exit 2; }
for c in dockerd docker buildah jq python3; do
	command -v $c >/dev/null || { echo "bench/build: $c missing (apt-get install docker.io buildah jq)" >&2; exit 2; }
done

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PIER_BIN:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
[ -x "$BIN/pierd" ] || (cd "$REPO" && make build >/dev/null)
. "$REPO/bench/lib/busybox.sh"
. "$REPO/bench/engine/lib.sh"
# shellcheck source=../lib/builds.sh
. "$REPO/bench/lib/builds.sh"
mkdir -p "$RESULTS"

W=$(mktemp -d /tmp/pier-bench-build-XXXXXX)
PP= DP=
CG=bench-build-$$
PIER="/usr/bin/docker -H unix://$W/pier.sock"
PIERCLI="$BIN/pier -H unix://$W/pier.sock"
DOCKER="/usr/bin/docker -H unix://$W/docker.sock"
BUILDAH="buildah --root $W/bh/root --runroot $W/bh/run --storage-driver overlay"
export DOCKER_CONFIG=$W/cfg
mkdir -p "$W/cfg" && echo "{}" >"$W/cfg/config.json"

cleanup() {
	set +e
	echo "bench/build: cleaning up" >&2
	$BUILDAH rm -a >/dev/null 2>&1
	stop_pierd_dockerd
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench/build: starting pierd, dockerd; importing busybox" >&2
start_pierd_dockerd
make_busybox_rootfs "$W/rootfs"
wait_for 30 $PIER info || { tail "$W/pierd.log" >&2; exit 1; }
wait_for 30 $DOCKER info || { tail "$W/dockerd.log" >&2; exit 1; }
seed_busybox
make_contexts

# build ENGINE CTX [--no-cache]: one build, quiet; fails the run on error.
build() {
	local e=$1 ctx=$W/$2
	shift 2
	case $e in
	pier) DOCKER_BUILDKIT=0 $PIER build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	pierbuild) $PIERCLI build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	classic) DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildkit) DOCKER_BUILDKIT=1 $DOCKER build -q --network none -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	buildah) $BUILDAH bud -q --layers --pull-never --network none --runtime runc --cgroup-parent /pier/$CG-buildah -t "bench-$(basename "$ctx")" "$@" "$ctx" ;;
	esac >/dev/null 2>"$W/err" || { echo "bench/build: $e $ctx failed:" >&2; cat "$W/err" >&2; exit 1; }
}

ENGINES=(pier pierbuild classic buildkit buildah)
: >"$W/samples"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$W/load" >&2
for w in a b c; do
	for e in "${ENGINES[@]}"; do build "$e" "$w"; done # warm: bases, caches, page cache
	echo "bench/build: $w x$N" >&2
	for _ in $(seq "$N"); do
		for e in "${ENGINES[@]}"; do
			echo "$w cold $e $(ms build "$e" "$w" --no-cache)" >>"$W/samples"
			build "$e" "$w" # the cache of this exact context, for the rebuild
			echo "$w rebuild $e $(ms build "$e" "$w")" >>"$W/samples"
		done
	done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$W/load" >&2

python3 - "$W/samples" "$RESULTS/build.json" "$W/load" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for w, mode, e, v in rows:
    med.setdefault((w, mode), {}).setdefault(e, []).append(int(v))
out = []
# pier: driven by docker 20.10's CLI (the whole context on every build);
# pier build: pier's own CLI, the context synced.
print(f"{'workload':8} {'mode':8} {'pier':>6} {'pier build':>10} {'classic':>8} {'buildkit':>9} {'buildah':>8}  pier/peer  pier build/peer  goal")
for (w, mode), by in sorted(med.items()):
    m = {e: statistics.median(v) for e, v in by.items()}
    peer = min(v for e, v in m.items() if not e.startswith("pier"))
    ratio, ratio_cli = m["pier"] / peer, m["pierbuild"] / peer
    goal = 0.5 if mode == "rebuild" else 0.8
    print(f"{w:8} {mode:8} {m['pier']:6.0f} {m['pierbuild']:10.0f} {m['classic']:8.0f} {m['buildkit']:9.0f} {m['buildah']:8.0f}  {ratio:9.2f}  {ratio_cli:15.2f}  <= {goal} {'met' if ratio_cli <= goal else 'MISSED'} (pier build)")
    out.append({"workload": w, "mode": mode, "median_ms": m, "runs": len(by["pier"]), "pier_over_fastest_peer": round(ratio, 3),
                "pier_build_over_fastest_peer": round(ratio_cli, 3), "goal": goal})
json.dump({"load": open(sys.argv[3]).read().strip().splitlines(), "results": out}, open(sys.argv[2], "w"), indent=2)
PY
echo "bench/build: wrote $RESULTS/build.json" >&2
