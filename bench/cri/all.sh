#!/usr/bin/env bash
# Issue 15's CRI bench in one run: pier against containerd 1.6 on the same machine, each
# pod start (RunPodSandbox + CreateContainer + StartContainer of a busybox pod) and ExecSync
# of `true` timed by the Go client bench/cri/client, the two runtimes taking turns pod by
# pod. Prints the medians, the pier/containerd ratios with the goal lines (≤ 0.5× both),
# and writes $RESULTS/cri.json (bench/results/ by default).
#
#   usage: bench/cri/all.sh [-n N]      (root; make build first; N pods per runtime, 10)
#
# Everything lives in one temp dir and goes with it:
# - the offline image fixture (scripts/cri-fixture.sh up, with its dir, registry port,
#   bridge and subnet made private to this run): images under registry.k8s.io names on a
#   docker-registry at 127.0.0.1, a CNI conflist with host-local IPAM in the temp dir;
# - a pierd with its own --root, --exec-root, API and CRI sockets, daemon.json "cri" with
#   the fixture's CNI conf and registry-mirrors (as scripts/critest.sh does);
# - Debian's containerd (1.6) with its own root, state, socket, runc root and netns dir,
#   the fixture's registry as the only host for registry.k8s.io (certs.d), runc, cgroupfs.
# At the end (also on error or ^C) pods are removed through CRI, the daemons, shims and
# registry are stopped by their PIDs, runc containers of our runc root deleted, mounts
# under the temp dir undone, the bridge deleted, and the temp dir removed.
# Env: RESULTS, PIER_BIN_DIR (bin/), CRI_BENCH_EXECS (5 ExecSync per pod),
# CRI_BENCH_KEEP=1 (leave the temp dir, for a look at the logs; daemons still stop).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${PIER_BIN_DIR:-$REPO/bin}
RESULTS=${RESULTS:-$REPO/bench/results}
N=10
while getopts n: o; do
  case $o in
    n) N=$OPTARG ;;
    *) echo "usage: $0 [-n N]" >&2; exit 2 ;;
  esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "all.sh: -n wants a positive number, got '$N'" >&2; exit 2; }
say() { echo "cri-bench: $*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$BIN/pierd" ] || die "$BIN/pierd missing: make build"
CONTAINERD=$(command -v containerd) || die "containerd missing: scripts/install-deps.sh containerd"
RUNC=$(command -v runc) || die "runc missing: scripts/install-deps.sh runc"
IMG=registry.k8s.io/e2e-test-images/busybox:1.29-2

T=$(mktemp -d /tmp/pier-cri-bench.XXXXXX)
chmod 711 "$T" # a pod's user namespace (an unprivileged host uid) passes it to pierd's root
export PIER_CRI_FIXTURE_DIR=$T/fixture
export PIER_CRI_BRIDGE=piercribench${T: -2}
PIER_CRI_BRIDGE=${PIER_CRI_BRIDGE,,}
# a /24 and a port nothing on this host uses yet
for i in $(seq 240 254); do
  ip -4 route | grep -q "^10\.$i\.0\.0/24 " || { export PIER_CRI_SUBNET=10.$i.0.0/24; break; }
done
for p in $(seq 5070 5099); do
  ss -Hltn "sport = :$p" | grep -q . || { export PIER_CRI_REGISTRY_PORT=$p; break; }
done
[ -n "${PIER_CRI_SUBNET:-}" ] && [ -n "${PIER_CRI_REGISTRY_PORT:-}" ] || { rm -rf "$T"; die "no free subnet or port"; }

PIER_PID= CTD_PID= CRICTL=
pid_is() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$2"; }
stop_pid() { # PID MARK: TERM, then KILL after 10 s, only if its command line names MARK
  pid_is "$1" "$2" || return 0
  kill -TERM "$1"
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
rmp_all() { [ -S "$1" ] && [ -n "$CRICTL" ] && timeout 120 "$CRICTL" --runtime-endpoint "unix://$1" \
  --image-endpoint "unix://$1" --timeout 30s rmp --all --force >/dev/null 2>&1 || true; }
cleanup() {
  set +e
  rmp_all "$T/cri.sock"; rmp_all "$T/ctd/c.sock"
  stop_pid "$PIER_PID" "$T/pier"
  stop_pid "$CTD_PID" "$T/ctd/config.toml"
  wait 2>/dev/null
  # containerd's shims outlive it: each by the PID it wrote, if it is still ours
  for f in "$T"/ctd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] && pid_is "$(cat "$f")" "$T/ctd/c.sock" && kill -KILL "$(cat "$f")"
  done
  for id in $("$RUNC" --root "$T/ctd/runc/k8s.io" list -q 2>/dev/null); do
    "$RUNC" --root "$T/ctd/runc/k8s.io" delete -f "$id" >/dev/null 2>&1
  done
  awk -v r="$T" 'index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  "$REPO/scripts/cri-fixture.sh" down >/dev/null 2>&1 # registry by PID, bridge, dir
  if [ "${CRI_BENCH_KEEP:-}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "fixture in $T/fixture (registry 127.0.0.1:$PIER_CRI_REGISTRY_PORT, $PIER_CRI_BRIDGE $PIER_CRI_SUBNET)"
"$REPO/scripts/cri-fixture.sh" up > "$T/fixture.env" 2> "$T/fixture.log" || { tail -20 "$T/fixture.log" >&2; die "fixture up failed"; }
# shellcheck disable=SC1091
. "$T/fixture.env"
(cd "$REPO" && go build -o "$T/client" ./bench/cri/client) || die "build bench/cri/client"

# pier, as scripts/critest.sh starts it
mirrors=""
for h in $MIRRORED_REGISTRIES; do mirrors="$mirrors${mirrors:+,}\"$h\":[\"http://$REGISTRY\"]"; done
mkdir -p "$T/pier"
cat > "$T/pier/daemon.json" <<JSON
{"cri": {"cni-conf-dir": "$CNI_CONF_DIR", "cni-bin-dir": "$CNI_BIN_DIR", "registry-mirrors": {$mirrors}}}
JSON
"$BIN/pierd" --config "$T/pier/daemon.json" --root "$T/pier/root" --exec-root "$T/pier/exec" \
  -H "unix://$T/pierd.sock" --cri-socket "$T/cri.sock" > "$T/pierd.log" 2>&1 < /dev/null &
PIER_PID=$!

# containerd 1.6, as ../shared/cri/containerd.sh and test/e2e/cri_containerd_test.go set it up
mkdir -p "$T/ctd"/{root,state,runc,opt}
for h in $MIRRORED_REGISTRIES; do
  mkdir -p "$T/ctd/certs.d/$h"
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REGISTRY" "$REGISTRY" > "$T/ctd/certs.d/$h/hosts.toml"
done
cat > "$T/ctd/config.toml" <<EOF
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$T/ctd/c.sock"
[ttrpc]
  address = "$T/ctd/c.sock.ttrpc"
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$T/ctd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.6"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    netns_mounts_under_state_dir = true
    enable_selinux = false
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$CNI_BIN_DIR"
      conf_dir = "$CNI_CONF_DIR"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "$RUNC"
          SystemdCgroup = false
          Root = "$T/ctd/runc"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "$T/ctd/certs.d"
EOF
setsid "$CONTAINERD" --config "$T/ctd/config.toml" > "$T/containerd.log" 2>&1 < /dev/null &
CTD_PID=$!

ready() { "$CRICTL" --runtime-endpoint "unix://$1" --timeout 2s info >/dev/null 2>&1; }
for _ in $(seq 300); do
  ready "$T/cri.sock" && ready "$T/ctd/c.sock" && break
  kill -0 "$PIER_PID" 2>/dev/null || { tail -20 "$T/pierd.log" >&2; die "pierd exited"; }
  kill -0 "$CTD_PID" 2>/dev/null || { tail -20 "$T/containerd.log" >&2; die "containerd exited"; }
  sleep 0.1
done
ready "$T/cri.sock" || { tail -20 "$T/pierd.log" >&2; die "pierd serves no CRI on $T/cri.sock"; }
ready "$T/ctd/c.sock" || { tail -20 "$T/containerd.log" >&2; die "containerd serves no CRI on $T/ctd/c.sock"; }

ctdv=$("$CONTAINERD" --version | awk '{print $3}')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
say "pier $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') vs containerd $ctdv, $N pods each, alternating; load $load0"
mkdir -p "$RESULTS"
"$T/client" -n "$N" -execs "${CRI_BENCH_EXECS:-5}" -image "$IMG" -json "$T/cri.json" \
  -compare "pier=unix://$T/cri.sock,containerd=unix://$T/ctd/c.sock"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $load0 before, $load1 after"
jq --arg l0 "$load0" --arg l1 "$load1" --arg v "$ctdv" --arg c "$(git -C "$REPO" rev-parse HEAD 2>/dev/null)" \
  '. + {loadavg_before: $l0, loadavg_after: $l1, containerd_version: $v, pier_commit: $c, cores: '"$(nproc)"'}' \
  "$T/cri.json" > "$RESULTS/cri.json"
echo "wrote $RESULTS/cri.json"
