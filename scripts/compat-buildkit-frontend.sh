#!/usr/bin/env bash
# make compat-buildkit: BuildKit's own Dockerfile frontend integration suite
# (frontend/dockerfile of github.com/moby/buildkit, at the version go.mod
# pins) run against pierd through the suite's `dockerd` worker.
#
# How: the suite's dockerd worker (TEST_DOCKERD=1) starts the first
# `dockerd` in $PATH with --data-root/--host/--config-file and drives its
# BuildKit through /grpc (h2c), as buildx's docker driver does. This script
# puts a shim `dockerd` first in $PATH that execs pierd on that root and
# socket. The suite is fetched through the Go module proxy (go mod
# download), compiled from a copy in the work dir, and never copied into
# this repository; the compiled test binary and buildctl are cached in
# $CACHE. The suite runs in a network namespace of its own (loopback only).
#
# Images: each group of tests first mirrors some docker.io images into a
# local registry (Debian's docker-registry, as `registry`) kept in
# BUILDKIT_REGISTRY_MIRROR_DIR, skipping any the mirror already has; if one
# cannot be copied the whole run aborts. No registry but 127.0.0.1 is
# reachable here, so the mirror is pre-seeded with images made here:
# busybox (Debian's busybox-static, busybox's /etc/passwd and /etc/group,
# small adduser/addgroup scripts) as busybox:latest and busybox:stable-musl,
# an alpine:latest stand-in (the same plus alpine's release files; no apk,
# no musl), and placeholders for the two others the suite names. pierd
# reads no registry mirror, so the shim lays the same busybox and alpine
# into each new pierd root (a copy of a seeded image store) before it
# starts.
#
# Output, in $OUT (default /tmp/pier-compat-buildkit): <engine>.json
# (go test2json), <engine>.log, buildctl-<engine>.log, and
# summary-<engine>.md (counts, failures grouped by cause, skips by reason).
# Optional:
#   PIER_BIN_DIR=DIR    pierd and its helpers from DIR (default bin/)
#   ENGINE=pier|docker  docker: Debian's dockerd 20.10 (its BuildKit is
#                       v0.8, far older than the suite) through a shim too
#   RUN='regexp'        the tests to run, matched against the test's name
#                       (TestDockerfileDirs, ...; default: all of them)
#   WORKER=pier         the suite's dockerd worker registered as "pier"
#                       with the features pier's BuildKit has, from a file
#                       added to the temp copy: runs the tests the dockerd
#                       worker skips (exporters, cache export/import)
#   PARALLEL=N          sandboxes at once (default 1; each is a daemon)
#   TIMEOUT=3h          go test -timeout for the whole run; each test's
#                       sandbox is stopped by the suite after 5 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" = 0 ] || { echo "compat-buildkit: needs root (it starts daemons)" >&2; exit 1; }
scripts/install-deps.sh docker.io busybox-static docker-registry curl jq python3
engine=${ENGINE:-pier}
bindir=${PIER_BIN_DIR:-$repo/bin}
# pierd also makes the images for ENGINE=docker.
for b in pierd pier-runtime pier-buildkitd; do
	[ -x "$bindir/$b" ] || { echo "compat-buildkit: $bindir/$b missing; run make build" >&2; exit 1; }
done
case $engine in
pier) ;;
docker) command -v dockerd >/dev/null || { echo "compat-buildkit: no dockerd" >&2; exit 1; } ;;
*) echo "compat-buildkit: ENGINE=$engine: want pier or docker" >&2; exit 1 ;;
esac
out=${OUT:-/tmp/pier-compat-buildkit}
worker=${WORKER:-dockerd}
case $worker in dockerd | pier) ;; *) echo "compat-buildkit: WORKER=$worker: want dockerd or pier" >&2; exit 1 ;; esac
[ "$worker" = dockerd ] || [ "$engine" = pier ] || { echo "compat-buildkit: WORKER=pier needs ENGINE=pier" >&2; exit 1; }
run="TestIntegration/${RUN:-.}/^worker=$worker\$"
parallel=${PARALLEL:-1}
timeout=${TIMEOUT:-3h}
ver=$(go list -m -f '{{.Version}}' github.com/moby/buildkit)
cache=${CACHE:-$HOME/.cache/pier/buildkit-suite}
testbin="$cache/$ver/dockerfile-$worker.test"
# Output files are named for the engine, and pier-worker for WORKER=pier.
name=$engine
[ "$worker" = dockerd ] || name=pier-worker
mkdir -p "$out" "$cache/$ver"

# A short work dir: the suite's daemon roots and sockets live under it
# (TMPDIR) and unix socket paths are limited to 108 bytes.
work=$(mktemp -d /tmp/pbk.XXXXXX)
seedpid="" regpid=""
# stop_pid PID [SIGNAL]: SIGINT (pierd and dockerd finish their shutdown
# on it) or SIGNAL, then SIGKILL after 20 s.
stop_pid() {
	kill -"${2:-INT}" "$1" 2>/dev/null || return 0
	for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}
cleanup() {
	set +e
	[ -n "$seedpid" ] && stop_pid "$seedpid"
	[ -n "$regpid" ] && stop_pid "$regpid" TERM
	# Daemons the suite left (a test binary killed by its timeout does not
	# stop them): the shim wrote each one's pid; then anything else still
	# running from this work dir (pier-buildkitd, containerd, registries).
	local p
	if [ -f "$work/pids" ]; then
		while read -r p; do
			grep -qF "$work" "/proc/$p/cmdline" 2>/dev/null && stop_pid "$p"
		done <"$work/pids"
	fi
	for p in $(grep -lF "$work" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
		[ "$p" = $$ ] || stop_pid "$p"
	done
	# Mounts left under the work dir (snapshots of a killed daemon), the
	# deepest first; nothing is deleted while one remains.
	grep -F " $work/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if grep -qF " $work/" /proc/mounts; then
		echo "compat-buildkit: mounts left under $work; not removing it" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# 1. The suite's test binary and buildctl (which the builtin frontend's
# variant of some tests runs), compiled once per BuildKit version.
if [ ! -x "$testbin" ] || [ ! -x "$cache/$ver/buildctl" ]; then
	src=$(go mod download -json "github.com/moby/buildkit@$ver" | jq -r .Dir)
	[ -d "$src/frontend/dockerfile" ] || { echo "compat-buildkit: no frontend/dockerfile in $src" >&2; exit 1; }
	cp -r "$src" "$work/buildkit"
	chmod -R u+w "$work/buildkit"
	if [ "$worker" = pier ]; then
		cat >"$work/buildkit/frontend/dockerfile/zz_pier_worker_test.go" <<'EOF'
package dockerfile

// Written by pier's scripts/compat-buildkit-frontend.sh (WORKER=pier) into
// its temporary copy of BuildKit's suite: the dockerd worker, through the
// same dockerd shim, under the name "pier" and with the features pier's
// BuildKit has (its OCI worker and exporters, local/registry/inline cache),
// so the tests the dockerd worker skips run too.

import (
	"os"

	"github.com/moby/buildkit/util/testutil/integration"
	"github.com/moby/buildkit/util/testutil/workers"
)

func init() {
	if os.Getenv("PIER_WORKER") != "1" {
		return
	}
	integration.Register(&workers.Moby{
		ID: "pier",
		Unsupported: []string{
			workers.FeatureCacheBackendAzblob,
			workers.FeatureCacheBackendGha,
			workers.FeatureCacheBackendS3,
			workers.FeatureSecurityMode,
			workers.FeatureCNINetwork,
			workers.FeatureCDI,
		},
	})
}
EOF
	fi
	echo "compat-buildkit: compiling BuildKit $ver's frontend/dockerfile tests (several minutes on 2 cores)"
	(cd "$work/buildkit" && nice -n 10 go test -c -o "$testbin.tmp" ./frontend/dockerfile &&
		nice -n 10 go build -o "$cache/$ver/buildctl" ./cmd/buildctl)
	mv "$testbin.tmp" "$testbin"
	rm -rf "$work/buildkit"
fi

# 2. The images. busybox: Debian's busybox-static with an applet link each,
# plus adduser/addgroup, which Debian's build leaves out and a few tests
# call (small shell stand-ins below). alpine: the same plus alpine's
# release files; no apk, no musl. A seeding pierd imports both, pushes them
# into the mirror, and leaves its image store as the template every shim
# pierd starts from.
mkdir -p "$work/bin" "$work/t" "$work/mirror" "$work/seed" "$work/rootfs/bin" "$work/rootfs/etc" \
	"$work/rootfs/tmp" "$work/rootfs/root" "$work/rootfs/home"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/rootfs/bin/$a"; done
# busybox's own /etc/passwd and /etc/group (tests look up daemon, nobody and
# root's membership of wheel).
cat >"$work/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$work/rootfs/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
nogroup:x:65534:
EOF
cat >"$work/rootfs/bin/adduser" <<'EOF'
#!/bin/sh
# adduser [-D] [-H] [-u UID] [-G GROUP] [-h HOME] [-s SHELL] USER: busybox's
# options, for the compat suite's busybox stand-in.
uid="" group="" home="" shell=/bin/sh nohome=""
while getopts "DHSu:G:h:s:g:" o; do
	case $o in u) uid=$OPTARG ;; G) group=$OPTARG ;; h) home=$OPTARG ;; s) shell=$OPTARG ;; H) nohome=1 ;; *) ;; esac
done
shift $((OPTIND - 1))
user=$1
[ -n "$user" ] || { echo "adduser: no user name" >&2; exit 1; }
grep -q "^$user:" /etc/passwd && { echo "adduser: user '$user' in use" >&2; exit 1; }
[ -n "$uid" ] || uid=$(awk -F: 'BEGIN { m = 999 } $3 > m && $3 < 60000 { m = $3 } END { print m + 1 }' /etc/passwd)
if [ -n "$group" ]; then
	gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' /etc/group)
	[ -n "$gid" ] || { echo "adduser: unknown group $group" >&2; exit 1; }
else
	gid=$uid
	echo "$user:x:$gid:" >>/etc/group
fi
home=${home:-/home/$user}
echo "$user:x:$uid:$gid:Linux User,,,:$home:$shell" >>/etc/passwd
[ -n "$nohome" ] || { mkdir -p "$home" && chown "$uid:$gid" "$home"; }
EOF
cat >"$work/rootfs/bin/addgroup" <<'EOF'
#!/bin/sh
# addgroup [-g GID] GROUP, or addgroup USER GROUP: busybox's forms, for the
# compat suite's busybox stand-in.
gid=""
while getopts "g:S" o; do case $o in g) gid=$OPTARG ;; *) ;; esac; done
shift $((OPTIND - 1))
if [ $# -eq 2 ]; then
	sed -i -e "/^$2:/{s/\$/,$1/;s/:,/:/}" /etc/group
	exit
fi
[ -n "$1" ] || { echo "addgroup: no group name" >&2; exit 1; }
grep -q "^$1:" /etc/group && { echo "addgroup: group '$1' in use" >&2; exit 1; }
[ -n "$gid" ] || gid=$(awk -F: 'BEGIN { m = 999 } $3 > m && $3 < 60000 { m = $3 } END { print m + 1 }' /etc/group)
echo "$1:x:$gid:" >>/etc/group
EOF
chmod 755 "$work/rootfs/bin/adduser" "$work/rootfs/bin/addgroup"
chmod 1777 "$work/rootfs/tmp"
tar -C "$work/rootfs" -c . >"$work/busybox.tar"
echo 3.18.4 >"$work/rootfs/etc/alpine-release"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME="Alpine Linux v3.18 (pier stand-in: busybox, no apk)"\n' \
	>"$work/rootfs/etc/os-release"
tar -C "$work/rootfs" -c . >"$work/alpine.tar"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$work/mirror/data" "$port" >"$work/seed/registry.yml"
docker-registry serve "$work/seed/registry.yml" >"$work/seed/registry.log" 2>&1 &
regpid=$!
# A pierd with --exec-root gets one under the work dir (the seeding one) or
# the one the suite names (the shim's), not the shared default.
xr=0
"$bindir/pierd" --help 2>&1 | grep -q -- '-exec-root' && xr=1
"$bindir/pierd" --root "$work/seed/root" --host "unix://$work/seed/api.sock" --cri-socket= \
	$([ $xr = 1 ] && echo --exec-root "$work/seed/exec") >"$work/seed/pierd.log" 2>&1 &
seedpid=$!
up=""
for _ in $(seq 150); do
	curl -sf --unix-socket "$work/seed/api.sock" http://d/_ping >/dev/null 2>&1 &&
		curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && { up=1; break; }
	sleep 0.2
done
[ -n "$up" ] || { cat "$work/seed/pierd.log" "$work/seed/registry.log" >&2; echo "compat-buildkit: the seeding pierd or registry did not answer" >&2; exit 1; }
dk() { docker -H "unix://$work/seed/api.sock" "$@"; }
dk rmi busybox:latest >/dev/null # pierd's own, replaced by the stand-in
for img in busybox alpine; do
	dk import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$work/$img.tar" "$img:latest" >/dev/null
done
dk tag busybox:latest busybox:stable-musl
# The mirror's names: docker.io's official images, and two more that some
# groups of tests mirror (the reproducibility tests' pinned debian, the
# security tests' tonistiigi/hellofs). Those two are placeholders (busybox)
# in the mirror only: the suite aborts the whole run (a panic) when any
# group cannot fill its mirror, so they must exist; the tests that build
# FROM them fail, and pier, which does not read the mirror, looks for them
# on docker.io.
for m in library/busybox:latest=busybox:latest library/busybox:stable-musl=busybox:latest \
	library/alpine:latest=alpine:latest amd64/debian:bullseye-20230109-slim=busybox:latest \
	tonistiigi/hellofs:latest=busybox:latest; do
	dk tag "${m#*=}" "127.0.0.1:$port/${m%=*}"
	dk push "127.0.0.1:$port/${m%=*}" >/dev/null
	dk rmi "127.0.0.1:$port/${m%=*}" >/dev/null
done
stop_pid "$seedpid"
seedpid=""
stop_pid "$regpid" TERM
regpid=""
mkdir -p "$work/template"
cp -a "$work/seed/root/image" "$work/template/"

# 3. The shim `dockerd`, `registry` and buildctl first in $PATH.
ln -s "$(command -v docker-registry)" "$work/bin/registry"
# buildctl: the suite prints its output only for some tests, so the
# wrapper also copies its stderr into a log (tests that read it still do).
: >"$out/buildctl-$name.log"
cat >"$work/bin/buildctl" <<EOF
#!/bin/bash
echo "== buildctl \$*" >>"$out/buildctl-$name.log"
exec "$cache/$ver/buildctl" "\$@" 2> >(tee -a "$out/buildctl-$name.log" >&2)
EOF
chmod 755 "$work/bin/buildctl"
case $engine in
pier) sed -e "s|@WORK@|$work|g" -e "s|@PIERD@|$bindir/pierd|g" -e "s|@XR@|$xr|g" >"$work/bin/dockerd" <<'EOF' ;;
#!/bin/sh
# dockerd shim: BuildKit's suite starts `dockerd --data-root R --host H
# --config-file F ...`; this runs pierd on R and H instead. pierd has no
# daemon.json keys of dockerd's but "builder" (entitlements, gc), so only
# that key is passed on; the whole file is logged (the suite prints the
# daemon's stderr for a failed test).
root="" host="" debug="" xr="" conf=""
while [ $# -gt 0 ]; do
	case $1 in
	--data-root) root=$2; shift 2 ;;
	--host | -H) host=$2; shift 2 ;;
	--config-file) echo "dockerd shim: daemon.json (only builder passed to pierd): $(cat "$2")" >&2; conf=$2; shift 2 ;;
	--debug | -D) debug=--debug; shift ;;
	--exec-root) [ @XR@ = 0 ] || xr=$2; shift 2 ;;
	--pidfile | --containerd-namespace | --containerd-plugins-namespace | --storage-driver | --userns-remap) shift 2 ;;
	*) echo "dockerd shim: ignored $1" >&2; shift ;;
	esac
done
[ -n "$root" ] && [ -n "$host" ] || { echo "dockerd shim: no --data-root or --host" >&2; exit 2; }
mkdir -p "$root"
# The mirrored images, already in pier's store (pierd does not use the
# suite's registry mirror).
cp -a @WORK@/template/image "$root/"
echo $$ >>@WORK@/pids
pconf=""
if [ -n "$conf" ]; then
	pconf=$root.pier.json
	jq 'if has("builder") then {builder} else {} end' "$conf" >"$pconf" || exit 1
fi
exec @PIERD@ --root "$root" --host "$host" --cri-socket= $debug ${xr:+--exec-root "$xr"} ${pconf:+--config "$pconf"}
EOF
docker) sed -e "s|@WORK@|$work|g" -e "s|@DOCKERD@|$(command -v dockerd)|g" -e "s|@HOSTNET@|$(readlink /proc/self/ns/net)|g" \
	>"$work/bin/dockerd" <<'EOF' ;;
#!/bin/sh
# dockerd shim: Debian's dockerd as the suite starts it, with a bridge and
# a subnet of its own (two daemons on one docker0 race on its iptables
# chains), in the suite's network namespace, never the host's.
[ "$(readlink /proc/self/ns/net)" != "@HOSTNET@" ] || { echo "dockerd shim: in the host's network namespace" >&2; exit 1; }
echo $$ >>@WORK@/pids
mkdir -p @WORK@/br
# Bridges of daemons that have stopped go first (their subnets come round
# again).
for f in @WORK@/br/*; do
	[ -f "$f" ] || continue
	kill -0 "$(cat "$f")" 2>/dev/null || { ip link del "pbkd${f##*/}" 2>/dev/null; rm -f "$f"; }
done
n=$(flock @WORK@/br.lock sh -c 'n=$(( $(cat @WORK@/br.count 2>/dev/null || echo 0) + 1 )); echo $n >@WORK@/br.count; echo $n')
echo $$ >@WORK@/br/$n
ip link add "pbkd$n" type bridge && ip addr add "10.213.$((n % 250 + 1)).1/24" dev "pbkd$n" && ip link set "pbkd$n" up || exit 1
exec @DOCKERD@ "$@" --bridge "pbkd$n" --iptables=false --ip6tables=false
EOF
esac
chmod 755 "$work/bin/dockerd"

# 4. The suite, the dockerd worker only.
echo "compat-buildkit: running BuildKit $ver's Dockerfile frontend suite against $engine (-run '$run', $parallel at once)"
set +e
(
	cd "$work/t"
	# The suite runs in a network namespace of its own, with loopback only:
	# the daemons' bridges and firewall rules are made there, the mirror
	# and the tests' servers listen there, and a test that wants the
	# Internet gets "network is unreachable" at once. A private mount
	# namespace too: the daemons' mounts go when it ends.
	# BUILDKIT_RUN_NETWORK_INTEGRATION_TESTS: the RUN network tests, which
	# reach only an echo server on 127.0.0.1 and the build's own eth0.
	PATH="$work/bin:$PATH" TMPDIR="$work/t" TEST_DOCKERD=1 PIER_WORKER=$([ "$worker" = pier ] && echo 1) BUILDKIT_REGISTRY_MIRROR_DIR="$work/mirror" \
		BUILDKIT_RUN_NETWORK_INTEGRATION_TESTS=1 GOMAXPROCS="$parallel" \
		unshare --net --mount --propagation private --fork sh -c '
			ip link set lo up || exit 1
			exec nice -n 10 "$@"' suite \
		"$testbin" -test.run "$run" -test.v=test2json -test.parallel "$parallel" \
		-test.timeout "$timeout" 2>&1 | go tool test2json -t >"$out/$name.json"
)
set -e
jq -r 'select(.Action == "output") | .Output' "$out/$name.json" | tr -d '\r' >"$out/$name.log"
python3 scripts/compat-buildkit-summary.py "$out/$name.json" "$engine" "$ver" >"$out/summary-$name.md"
grep -E '^(# |[0-9]+ tests|### )' "$out/summary-$name.md"
echo "compat-buildkit: details in $out/summary-$name.md, $out/$name.log"
