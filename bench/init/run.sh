#!/usr/bin/env bash
# Init benchmark (issue 3, "Benchmark"): idle memory of PID 1 and SIGTERM to
# exit for pier-init, tini, dumb-init and catatonit in one interleaved run,
# each as PID 1 of its own PID namespace; see main.go for what is measured.
#
# usage: bench/init/run.sh [-n RUNS]      (default 20)
# Env: PIER_INIT (default bin/pier-init, built static if missing),
#      RESULTS (default bench/results).
# Prints the table; writes $RESULTS/init.json and $RESULTS/init.txt.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RESULTS=${RESULTS:-$REPO/bench/results}
N=20
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/init: needs root" >&2; exit 2; }

tmp=$(mktemp -d /tmp/pier-bench-init-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PIER_INIT=${PIER_INIT:-$REPO/bin/pier-init}
if [ ! -x "$PIER_INIT" ]; then
	# The same build as `make build`.
	(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/pier-init" ./cmd/pier-init)
	PIER_INIT=$tmp/pier-init
fi
(cd "$REPO" && go build -o "$tmp/initbench" ./bench/init)

mkdir -p "$RESULTS"
"$tmp/initbench" -pier-init "$PIER_INIT" -n "$N" -json "$RESULTS/init.json" | tee "$RESULTS/init.txt"
