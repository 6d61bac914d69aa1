#!/usr/bin/env bash
# Pod start (RunPodSandbox + CreateContainer + StartContainer of a busybox pod) and ExecSync
# through crictl, against one CRI endpoint: medians of N runs (default 10), in ms. Then the
# same calls from a small Go client (bench/cri/client, 5 ExecSync per pod), whose times leave
# out crictl's own process start (25-40 ms here, the same on both sides, which dominates an
# exec of `true`).
#
#   usage: bench/cri/run.sh ENDPOINT [N]        e.g. unix:///run/pier/cri.sock
#          bench/cri/run.sh                     (no endpoint: bench/cri/all.sh, pier against
#                                               containerd in one run; what `make bench` does)
#
# Needs crictl (scripts/install-critools.sh) and the image
# registry.k8s.io/e2e-test-images/busybox:1.29-2 pullable through the endpoint (the critest
# fixture's mirror). Each pod is stopped and removed after its run. Compare with containerd:
# EP=$(../shared/cri/containerd.sh up | tail -1); bench/cri/run.sh "$EP".
set -euo pipefail
[ $# -gt 0 ] || exec "$(dirname "$0")/all.sh" -n "${CRI_BENCH_N:-10}"
EP=${1:?usage: run.sh ENDPOINT [N]}
N=${2:-10}
CRICTL=${CRICTL:-$("$(dirname "$0")/../../scripts/install-critools.sh")/crictl}
IMG=${CRI_BENCH_IMAGE:-registry.k8s.io/e2e-test-images/busybox:1.29-2}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
c() { "$CRICTL" --runtime-endpoint "$EP" --image-endpoint "$EP" --timeout 60s "$@" 2>/dev/null; }
c pull "$IMG" >/dev/null
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: > "$D/start"; : > "$D/exec"
for i in $(seq 1 "$N"); do
  printf '{"metadata":{"name":"bench-%s","namespace":"bench","uid":"bench-%s-%s"},"log_directory":"%s","linux":{}}\n' "$i" "$i" "$$" "$D/logs" > "$D/pod.json"
  printf '{"metadata":{"name":"c"},"image":{"image":"%s"},"command":["sleep","3600"],"linux":{}}\n' "$IMG" > "$D/c.json"
  t=$(date +%s%N)
  p=$(c runp "$D/pod.json"); ct=$(c create "$p" "$D/c.json" "$D/pod.json"); c start "$ct" >/dev/null
  ms "$t" >> "$D/start"
  t=$(date +%s%N); c exec -s "$ct" true >/dev/null; ms "$t" >> "$D/exec"
  c stopp "$p" >/dev/null; c rmp "$p" >/dev/null
done
echo "pod start (runp+create+start, crictl) median: $(median < "$D/start") ms"
echo "exec sync (crictl exec -s true) median: $(median < "$D/exec") ms"
(cd "$(dirname "$0")/../.." && go run ./bench/cri/client -endpoint "$EP" -n "$N" -image "$IMG")
