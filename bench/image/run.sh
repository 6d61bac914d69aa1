#!/usr/bin/env bash
# Image benchmark (issue 4, "Performance"): pull + unpack of a ~200 MB,
# 5-layer image from Debian's docker-registry on 127.0.0.1, pier against
# skopeo copy + umoci unpack and (when a private containerd starts)
# ctr image pull, in one interleaved run; and the cost of a container
# rootfs for a small and a large image. See main.go.
#
# usage: bench/image/run.sh [-n RUNS]        (default 5)
# Env: RESULTS (default bench/results), NO_CONTAINERD=1 to skip containerd.
# Prints the table; writes $RESULTS/image.json and $RESULTS/image.txt.
# Everything runs in a private mount namespace under one temp dir; the
# registry and any containerd are stopped by pid, the temp dir removed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RESULTS=${RESULTS:-$REPO/bench/results}
N=5
[ "${1:-}" = -n ] && N=${2:?-n needs a count}
[ "$(id -u)" = 0 ] || { echo "bench/image: needs root" >&2; exit 2; }

missing=()
for p in docker-registry skopeo umoci busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench/image: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

tmp=$(mktemp -d /tmp/pier-bench-image-XXXXXX)
reg_pid=
cleanup() {
	local pid
	if [ -s "$tmp/containerd.pid" ]; then
		pid=$(cat "$tmp/containerd.pid")
		kill "$pid" 2>/dev/null && sleep 1 && kill -9 "$pid" 2>/dev/null || true
	fi
	if [ -n "$reg_pid" ]; then
		kill "$reg_pid" 2>/dev/null || true
		wait "$reg_pid" 2>/dev/null || true
	fi
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

# Built first so that compiling is not part of anything timed.
(cd "$REPO" && go build -o "$tmp/imagebench" ./bench/image)

port=$("$tmp/imagebench" -free-port)
mkdir -p "$tmp/registry"
cat >"$tmp/registry/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $tmp/registry/data
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry/log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "bench/image: docker-registry did not start" >&2; cat "$tmp/registry/log" >&2; exit 1; }

args=(-registry "127.0.0.1:$port" -n "$N" -work "$tmp/work" -json "$RESULTS/image.json"
	-containerd-pidfile "$tmp/containerd.pid")
[ -n "${NO_CONTAINERD:-}" ] && args+=(-no-containerd)
mkdir -p "$RESULTS" "$tmp/work"
# The private mount namespace takes every mount made during the run
# (pier's rootfs, containerd's unpack mounts) with it when the run ends.
unshare -m --propagation private "$tmp/imagebench" "${args[@]}" | tee "$RESULTS/image.txt"
