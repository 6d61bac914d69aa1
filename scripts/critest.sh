#!/usr/bin/env bash
# critest (cri-tools v1.37.0) against a private pierd's CRI socket, with every image
# served by a local registry mirror and pods on a private CNI bridge.
#
#   usage: scripts/critest.sh [OUTDIR]       (root; make build first)
#
# The offline fixture (local docker-registry on 127.0.0.1 holding stand-ins of the images
# critest pulls, a CNI conflist with no default route and no masquerade) comes from
# CRI_FIXTURE_SH (default ../shared/cri/fixture.sh beside the repository); its `up` is
# idempotent. pierd runs on a root under OUTDIR with daemon.json "cri": the fixture's CNI
# conf dir and registry-mirrors for registry.k8s.io, gcr.io and k8s.gcr.io (the mirror
# only, no fallback). The last line printed is `critest: N passed, M failed, K skipped`,
# to set beside containerd 1.6's 91/3/48 on this machine (../shared/cri/containerd.sh).
# Env: CRITEST_ARGS (e.g. -ginkgo.focus=Image), CRITEST_TIMEOUT (15m), PIER_BIN_DIR (bin/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIXSH=${CRI_FIXTURE_SH:-$HERE/../shared/cri/fixture.sh}
BIN=${PIER_BIN_DIR:-$HERE/bin}
OUT=${1:-/tmp/critest-pier/$(date -u +%Y%m%dT%H%M%SZ)}
FIX=${CRI_FIXTURE_DIR:-/tmp/cri-fixture}

[ "$(id -u)" = 0 ] || { echo "critest.sh: must run as root" >&2; exit 1; }
[ -x "$FIXSH" ] || { echo "critest.sh: no fixture script at $FIXSH (set CRI_FIXTURE_SH)" >&2; exit 1; }
[ -x "$BIN/pierd" ] || { echo "critest.sh: $BIN/pierd missing: make build" >&2; exit 1; }
"$HERE/scripts/install-critools.sh" >/dev/null
"$FIXSH" up >/dev/null
# shellcheck disable=SC1091
. "$FIX/fixture.env"
RUNNER=$(dirname "$FIXSH")/critest.sh

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
D=$(mktemp -d /tmp/pier-critest.XXXXXX)
mirrors=""
for h in $MIRRORED_REGISTRIES; do mirrors="$mirrors${mirrors:+,}\"$h\":[\"http://$REGISTRY\"]"; done
cat > "$D/daemon.json" <<JSON
{"cri": {"cni-conf-dir": "$CNI_CONF_DIR", "cni-bin-dir": "$CNI_BIN_DIR", "registry-mirrors": {$mirrors}}}
JSON
"$BIN/pierd" --config "$D/daemon.json" --root "$D/root" -H "unix://$D/pierd.sock" \
  --cri-socket "$D/cri.sock" > "$OUT/pierd.log" 2>&1 < /dev/null &
PID=$!
cleanup() {
  if kill -0 "$PID" 2>/dev/null; then
    "$CRICTL" --runtime-endpoint "unix://$D/cri.sock" --image-endpoint "unix://$D/cri.sock" \
      --timeout 30s rmp --all --force >/dev/null 2>&1 || true
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  fi
  awk -v r="$D" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$D"
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -S "$D/cri.sock" ] && break; sleep 0.1; done
[ -S "$D/cri.sock" ] || { tail -5 "$OUT/pierd.log" >&2; echo "critest.sh: pierd serves no CRI" >&2; exit 1; }
"$RUNNER" "unix://$D/cri.sock" "$OUT"
