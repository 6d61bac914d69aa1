#!/usr/bin/env bash
# Runs every benchmark: each bench/<name>/run.sh, in name order, after
# installing the peers they compare against (Debian packages) when missing.
# `make bench` calls it after `make build`.
#
# usage: bench/run.sh [NAME...]     (default: every bench/*/run.sh)
# Results go to bench/results/ (git-ignored); each benchmark says what it wrote.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
export RESULTS=${RESULTS:-$REPO/bench/results}
PEERS=(runc crun hyperfine tini dumb-init catatonit busybox-static jq docker-registry skopeo umoci containerd conmon docker.io podman iperf3 buildah containernetworking-plugins)

missing=()
for p in "${PEERS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "bench: missing ${missing[*]}; run as root to install them" >&2; exit 2; }
	echo "bench: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$REPO"/bench/*/run.sh; do
		[ -f "$f" ] && names+=("$(basename "$(dirname "$f")")")
	done
fi
mkdir -p "$RESULTS"
failed=()
for n in "${names[@]}"; do
	[ -x "$REPO/bench/$n/run.sh" ] || { echo "bench: no bench/$n/run.sh" >&2; failed+=("$n"); continue; }
	echo "=== bench/$n"
	"$REPO/bench/$n/run.sh" || failed+=("$n")
done
echo
echo "results: $RESULTS"
ls -1 "$RESULTS" | sed 's/^/  /'
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
