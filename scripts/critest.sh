#!/usr/bin/env bash
# critest (cri-tools v1.37.0) against a private pierd's CRI socket, with every image
# served by a local registry mirror and pods on a private CNI bridge.
#
#   usage: scripts/critest.sh [OUTDIR]       (root; make build first)
#
# The offline fixture is the project's own scripts/cri-fixture.sh (its `up` is idempotent);
# CRI_FIXTURE_SH names another script with the same `up` and env file (for instance
# ../shared/cri/fixture.sh) instead. pierd runs on a root under a temp dir with daemon.json
# "cri": the fixture's CNI conf dir and registry-mirrors for registry.k8s.io, gcr.io and
# k8s.gcr.io (the mirror only, no fallback). critest runs serially with a fixed seed; the
# last line printed is `critest: N passed, M failed, K skipped` (skipped counts the specs
# filtered out too), to set beside containerd 1.6's 91/3/48 on this machine.
# Env: CRITEST_ARGS (e.g. -ginkgo.focus=Image), CRITEST_TIMEOUT (15m), PIER_BIN_DIR (bin/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PIER_BIN_DIR:-$HERE/bin}
OUT=${1:-/tmp/critest-pier/$(date -u +%Y%m%dT%H%M%SZ)}
TIMEOUT=${CRITEST_TIMEOUT:-15m}

[ "$(id -u)" = 0 ] || { echo "critest.sh: must run as root" >&2; exit 1; }
[ -x "$BIN/pierd" ] || { echo "critest.sh: $BIN/pierd missing: make build" >&2; exit 1; }
TOOLS=$("$HERE/scripts/install-critools.sh")
if [ -n "${CRI_FIXTURE_SH:-}" ]; then
  "$CRI_FIXTURE_SH" up >/dev/null
  # shellcheck disable=SC1091
  . "${CRI_FIXTURE_DIR:-/tmp/cri-fixture}/fixture.env"
else
  # shellcheck disable=SC1090
  . <("$HERE/scripts/cri-fixture.sh" up)
fi
[ -n "${REGISTRY:-}" ] && [ -n "${CNI_CONF_DIR:-}" ] || { echo "critest.sh: the fixture is not up" >&2; exit 1; }
CRICTL=$TOOLS/crictl CRITEST=$TOOLS/critest

mkdir -p "$OUT/tmp"
OUT=$(cd "$OUT" && pwd)
D=$(mktemp -d /tmp/pier-critest.XXXXXX)
chmod 711 "$D" # the root of a pod's user namespace (an unprivileged host uid) passes it to pierd's root
mirrors=""
for h in $MIRRORED_REGISTRIES; do mirrors="$mirrors${mirrors:+,}\"$h\":[\"http://$REGISTRY\"]"; done
cat > "$D/daemon.json" <<JSON
{"cri": {"cni-conf-dir": "$CNI_CONF_DIR", "cni-bin-dir": "$CNI_BIN_DIR", "registry-mirrors": {$mirrors}}}
JSON
"$BIN/pierd" --config "$D/daemon.json" --root "$D/root" -H "unix://$D/pierd.sock" \
  --cri-socket "$D/cri.sock" > "$OUT/pierd.log" 2>&1 < /dev/null &
PID=$!
shm_ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/shm 2>/dev/null | sort; }
shm_ids > "$D/shm-before"
cleanup() {
  if kill -0 "$PID" 2>/dev/null; then
    "$CRICTL" --runtime-endpoint "unix://$D/cri.sock" --image-endpoint "unix://$D/cri.sock" \
      --timeout 30s rmp --all --force >/dev/null 2>&1 || true
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
  fi
  # the HostIpc specs make 1 MiB SysV segments in the host's IPC namespace and leave them
  for id in $(shm_ids | comm -13 "$D/shm-before" -); do
    awk -v id="$id" 'NR > 1 && $2 == id && $4 == 1048576 && $7 == 0 { f = 1 } END { exit !f }' /proc/sysvipc/shm \
      && ipcrm -m "$id" 2>/dev/null || true
  done
  # critest's propagation specs bind host paths under its TMPDIR ($OUT/tmp) and leave them
  for r in "$D" "$OUT/tmp"; do
    awk -v r="$r" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
      while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  rm -rf "$D"
  [ -n "${CRI_FIXTURE_SH:-}" ] || "$HERE/scripts/cri-fixture.sh" stop # its images stay for the next run
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -S "$D/cri.sock" ] && break; sleep 0.1; done
[ -S "$D/cri.sock" ] || { tail -5 "$OUT/pierd.log" >&2; echo "critest.sh: pierd serves no CRI" >&2; exit 1; }

EP=unix://$D/cri.sock
t0=$SECONDS rc=0
# critest reads crictl.yaml from its working directory: it runs in OUTDIR
( cd "$OUT" && TMPDIR=$OUT/tmp timeout --kill-after=60s "$(( ${TIMEOUT%m} * 60 + 180 ))" "$CRITEST" \
    -runtime-endpoint "$EP" -image-endpoint "$EP" -ginkgo.timeout="$TIMEOUT" -ginkgo.seed=1 \
    -ginkgo.v -ginkgo.no-color -ginkgo.json-report="$OUT/report.json" -test.timeout=0 \
    ${CRITEST_ARGS:-} ) > "$OUT/critest.log" 2>&1 || rc=$?
[ -s "$OUT/report.json" ] || { tail -20 "$OUT/critest.log" >&2; echo "critest.sh: no report (exit $rc)" >&2; exit 2; }
its='[.[].SpecReports[]? | select(.LeafNodeType == "It")]'
jq -r "$its | .[] | select(.State != \"passed\" and .State != \"skipped\" and .State != \"pending\")
  | \"FAIL: \" + (((.ContainerHierarchyTexts // []) + [.LeafNodeText]) | join(\" \"))" "$OUT/report.json" | tee "$OUT/failed.txt"
echo "critest: wall $((SECONDS - t0))s, exit $rc, log $OUT/critest.log"
jq -r "$its | \"critest: \(map(select(.State == \"passed\")) | length) passed, \(map(select(.State != \"passed\" and .State != \"skipped\" and .State != \"pending\")) | length) failed, \(map(select(.State == \"skipped\" or .State == \"pending\")) | length) skipped\"" \
  "$OUT/report.json" | tee "$OUT/summary.txt"
