#!/usr/bin/env bash
# Runtime benchmark (issue 2, "Performance"): `run` and `exec` of /bin/true
# for pier-runtime, runc and crun in one interleaved run; see main.go.
#
# usage: bench/runtime/run.sh [-n RUNS]
# Env: GO_INIT=1 also times pier-runtime on its Go init (the C init's A/B),
#      PIER_RUNTIME (default bin/pier-runtime), RUNC, CRUN (default from PATH;
#      set one to "" to skip it), RESULTS (default bench/results).
# Prints the table; writes $RESULTS/runtime.json and $RESULTS/runtime.txt.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/busybox.sh
. "$REPO/bench/lib/busybox.sh"
RESULTS=${RESULTS:-$REPO/bench/results}
N=30
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/runtime: needs root" >&2; exit 2; }

tmp=$(mktemp -d /tmp/pier-bench-bundle-XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
make_busybox_bundle "$tmp/bundle" /bin/true
# Built first so that compiling is not part of anything timed.
(cd "$REPO" && go build -o "$tmp/runtimebench" ./bench/runtime)

mkdir -p "$RESULTS"
"$tmp/runtimebench" -bundle "$tmp/bundle" -n "$N" -json "$RESULTS/runtime.json" \
	-pier "${PIER_RUNTIME-$REPO/bin/pier-runtime}" -runc "${RUNC-runc}" -crun "${CRUN-crun}" -go-init="${GO_INIT:-0}" |
	tee "$RESULTS/runtime.txt"
