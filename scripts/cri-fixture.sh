#!/usr/bin/env bash
# pier's offline fixture for critest (cri-tools v1.37.0): the images critest pulls, made
# here and served by a local registry, and a CNI network for the pods.
#
#   usage: scripts/cri-fixture.sh up      make what is missing; prints the env file
#          scripts/cri-fixture.sh stop    stop the registry only (its images stay for the next up)
#          scripts/cri-fixture.sh down    stop the registry, remove the bridge and the dir
#          scripts/cri-fixture.sh env     print the env file if the fixture is up
#
# - Debian's docker-registry on 127.0.0.1:$PIER_CRI_REGISTRY_PORT (5056), its PID kept in
#   the fixture dir and stopped by that PID only.
# - Images, made with buildah from Debian's busybox package (apt-get download) and
#   test/crifixture/standin (pause, nginx, httpd, nnp), pushed under the repository paths
#   critest asks for: registry.k8s.io/X and gcr.io/X are both $REGISTRY/X, given to pierd as
#   registry-mirrors (scripts/critest.sh writes them into daemon.json).
# - A CNI conflist: bridge $PIER_CRI_BRIDGE on $PIER_CRI_SUBNET, no default route, no
#   masquerade, host-local IPAM, portmap.
# Only apt-get, the Go module proxy and 127.0.0.1 are used. Env: PIER_CRI_FIXTURE_DIR
# (/tmp/pier-cri-fixture), PIER_CRI_REGISTRY_PORT, PIER_CRI_BRIDGE (piercrifix0),
# PIER_CRI_SUBNET (10.232.0.0/24).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${PIER_CRI_FIXTURE_DIR:-/tmp/pier-cri-fixture}
PORT=${PIER_CRI_REGISTRY_PORT:-5056}
BRIDGE=${PIER_CRI_BRIDGE:-piercrifix0}
SUBNET=${PIER_CRI_SUBNET:-10.232.0.0/24}
REG=127.0.0.1:$PORT
ENV=$DIR/fixture.env
STAMP=1704067200 # every file and image at one time: a rebuild gives the same digests

say() { echo "cri-fixture: $*" >&2; }
fail() { say "$*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "must run as root"

bah() { buildah --root "$DIR/buildah/root" --runroot "$DIR/buildah/run" --storage-driver vfs "$@"; }
registry_up() { curl -sf -o /dev/null --max-time 3 "http://$REG/v2/"; }
registry_pid() { cat "$DIR/registry.pid" 2>/dev/null || true; }

start_registry() {
  if registry_up; then return; fi
  mkdir -p "$DIR/registry"
  printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$DIR/registry" "$REG" > "$DIR/registry.yml"
  setsid docker-registry serve "$DIR/registry.yml" > "$DIR/registry.log" 2>&1 < /dev/null &
  echo $! > "$DIR/registry.pid"
  for _ in $(seq 50); do registry_up && return; sleep 0.1; done
  cat "$DIR/registry.log" >&2; fail "docker-registry did not answer on $REG"
}

# base_rootfs DIR: Debian's dynamic busybox (its applets are links, so masking one path
# hides one program, as in the upstream image) with the libraries it needs, and the
# /etc files of the busybox image.
base_rootfs() {
  local r=$1 deb a l
  mkdir -p "$DIR/debs"
  deb=$(ls "$DIR"/debs/busybox_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$DIR/debs" && apt-get download busybox >&2)
    deb=$(ls "$DIR"/debs/busybox_*.deb | head -1)
  fi
  rm -rf "$r" "$DIR/deb"; mkdir -p "$r" "$DIR/deb"
  dpkg-deb -x "$deb" "$DIR/deb"
  mkdir -p "$r"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,var/run,var/www,lib64,lib/x86_64-linux-gnu}
  chmod 1777 "$r/tmp"
  install -m 0755 "$DIR/deb/bin/busybox" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ -e "$r/bin/$a" ] || ln "$r/bin/busybox" "$r/bin/$a"; done
  for l in $(ldd "$r/bin/busybox" | awk '$2 == "=>" { print $3 }'); do cp -L "$l" "$r/lib/x86_64-linux-gnu/"; done
  cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/"
  # Debian's busybox has no ipcs nor pgrep, which critest's specs run
  printf '#!/bin/sh\n# ipcs -m: the SysV shared memory segments, from /proc\necho "------ Shared Memory Segments --------"\necho "key        shmid      owner      perms      bytes      nattch"\ntail -n +2 /proc/sysvipc/shm | while read -r k id p sz c l n u r; do printf "0x%%08x %%-10s %%-10s %%-10s %%-10s %%-10s\\n" $((k & 0xFFFFFFFF)) $id $u $p $sz $n; done\n' > "$r/bin/ipcs"
  printf '#!/bin/sh\n# pgrep [-f] PATTERN: the pids whose name (or command line) matches\nf=0; [ "$1" = -f ] && { f=1; shift; }\nrc=1\nfor d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = $$ ] && continue\n  if [ $f = 1 ]; then s=$(tr "\\0" " " < $d/cmdline 2>/dev/null); else s=$(cat $d/comm 2>/dev/null); fi\n  echo "$s" | grep -Eq -- "$1" && { echo $p; rc=0; }\ndone\nexit $rc\n' > "$r/bin/pgrep"
  chmod 0755 "$r/bin/ipcs" "$r/bin/pgrep"
  printf '%s\n' root:x:0:0:root:/root:/bin/sh daemon:x:1:1:daemon:/usr/sbin:/bin/false \
    bin:x:2:2:bin:/bin:/bin/false www-data:x:33:33:www-data:/var/www:/bin/false \
    nobody:x:65534:65534:nobody:/home:/bin/false > "$r/etc/passwd"
  printf '%s\n' root:x:0: daemon:x:1: bin:x:2: wheel:x:10:root www-data:x:33: users:x:100: \
    nogroup:x:65534: > "$r/etc/group"
  printf '127.0.0.1\tlocalhost\n' > "$r/etc/hosts"
  find "$r" -exec touch -h -d "@$STAMP" {} +
}

# image NAME FROM REPO:TAG... -- CONFIG-ARGS: a container from FROM (scratch or a local
# image), changed by the function fill_NAME if there is one, committed and pushed.
image() {
  local name=$1 from=$2 ctr mnt; shift 2
  local tags=() cfg=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do tags+=("$1"); shift; done
  [ $# -gt 0 ] && shift && cfg=("$@")
  if [ "$from" = scratch ]; then ctr=$(bah from -q scratch); else ctr=$(bah from -q --pull=never "localhost/pierfix/$from"); fi
  mnt=$(bah mount "$ctr")
  if declare -F "fill_${name//-/_}" >/dev/null; then "fill_${name//-/_}" "$mnt"; find "$mnt" -newer "$DIR/.t0" -exec touch -h -d "@$STAMP" {} +; fi
  [ ${#cfg[@]} -eq 0 ] || bah config "${cfg[@]}" "$ctr"
  bah commit -q --format oci --timestamp "$STAMP" --rm "$ctr" "localhost/pierfix/$name" >/dev/null
  local t
  for t in "${tags[@]}"; do
    bah push -q --tls-verify=false --format v2s2 "localhost/pierfix/$name" "docker://$REG/$t" >&2
  done
}

fill_base() { cp -a "$DIR/rootfs/." "$1/"; }
fill_nginx() {
  install -D -m 0755 "$DIR/standin/nginx" "$1/usr/sbin/nginx"
  mkdir -p "$1/etc/nginx/conf.d" "$1/usr/share/nginx/html"
  echo '<h1>Welcome to nginx!</h1>' > "$1/usr/share/nginx/html/index.html"
  printf 'server {\n    listen %s;\n}\n' "$NGINX_PORT" > "$1/etc/nginx/conf.d/default.conf"
}
fill_hostnet_nginx() { fill_nginx "$@"; }
fill_httpd() { install -D -m 0755 "$DIR/standin/httpd" "$1/usr/local/apache2/bin/httpd"; }
fill_nonewprivs() { install -D -m 4755 -o 0 -g 0 "$DIR/standin/nnp" "$1/usr/local/bin/nnp"; }
fill_predefined_group() {
  echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >> "$1/etc/passwd"
  printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >> "$1/etc/group"
  mkdir -p "$1/home/default-user"; chown 1000:1000 "$1/home/default-user"
}
fill_pause() { install -D -m 0755 "$DIR/standin/pause" "$1/pause"; }

build_images() {
  local P=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin s t
  mkdir -p "$DIR/standin"
  for s in pause nginx httpd nnp; do
    (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$DIR/standin/$s" ./test/crifixture/standin) >&2
  done
  base_rootfs "$DIR/rootfs"
  touch "$DIR/.t0"
  image base scratch e2e-test-images/busybox:1.29-2 -- --os linux --arch amd64 --env "$P" --cmd '["sh"]'
  NGINX_PORT=80 image nginx base e2e-test-images/nginx:1.14-2 -- --port 80/tcp --stop-signal SIGQUIT --cmd '["nginx","-g","daemon off;"]'
  NGINX_PORT=12003 image hostnet-nginx base k8s-staging-cri-tools/hostnet-nginx-amd64:latest -- --port 12003/tcp --stop-signal SIGQUIT --cmd '["nginx","-g","daemon off;"]'
  image httpd base e2e-test-images/httpd:2.4.39-4 -- --env "PATH=/usr/local/apache2/bin:${P#PATH=}" --port 80/tcp --stop-signal SIGWINCH --cmd '["httpd","-DFOREGROUND"]'
  image nonewprivs base e2e-test-images/nonewprivs:1.3 -- --cmd '' --entrypoint '["/usr/local/bin/nnp"]'
  image user-uid base k8s-staging-cri-tools/test-image-user-uid:latest -- --user 1002
  image user-username base k8s-staging-cri-tools/test-image-user-username:latest -- --user www-data
  image user-uid-group base k8s-staging-cri-tools/test-image-user-uid-group:latest -- --user 1003:1004
  image user-username-group base k8s-staging-cri-tools/test-image-user-username-group:latest -- --user www-data:1004
  image predefined-group base k8s-staging-cri-tools/test-image-predefined-group:latest -- --user 1000
  # images told apart by a file named after them in /
  for t in test-image-1 test-image-2 test-image-3 test-image-latest test-image-digest; do
    eval "fill_${t//-/_}() { : > \"\$1/$t\"; }"
    image "$t" base "k8s-staging-cri-tools/$t:latest"
  done
  fill_tags() { : > "$1/same-image"; }
  image tags base k8s-staging-cri-tools/test-image-tags:1 k8s-staging-cri-tools/test-image-tags:2 k8s-staging-cri-tools/test-image-tags:3
  for t in test all; do
    eval "fill_tag_$t() { : > \"\$1/$t\"; }"
    image "tag-$t" base "k8s-staging-cri-tools/test-image-tag:$t"
  done
  # a pause image per tag, each with its own id (a label), so that critest's removal of
  # pause:3.9 never removes another tag's image
  for t in 3.6 3.7 3.8 3.9 3.10 3.10.1; do
    eval "fill_pause_${t//./_}() { fill_pause \"\$1\"; }"
    image "pause-${t//./-}" scratch "pause:$t" -- --os linux --arch amd64 --user 65535:65535 --entrypoint '["/pause"]' --label "pier.cri-fixture.pause=$t"
  done
}

write_cni() {
  mkdir -p "$DIR/net.d" "$DIR/ipam"
  cat > "$DIR/net.d/10-pier-critest.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "pier-critest", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "isDefaultGateway": false, "ipMasq": false,
   "hairpinMode": true, "ipam": {"type": "host-local", "dataDir": "$DIR/ipam", "ranges": [[{"subnet": "$SUBNET"}]], "routes": []}},
  {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
]}
EOF
}

write_env() {
  cat > "$ENV" <<EOF
REGISTRY=$REG
REGISTRY_PID=$(registry_pid)
MIRRORED_REGISTRIES="registry.k8s.io gcr.io k8s.gcr.io"
CNI_CONF_DIR=$DIR/net.d
CNI_BIN_DIR=/usr/lib/cni
CRICTL=$("$ROOT/scripts/install-critools.sh")/crictl
CRITEST=$("$ROOT/scripts/install-critools.sh")/critest
EOF
}

up() {
  local need=() p
  for p in docker-registry buildah containernetworking-plugins curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] || "$ROOT/scripts/install-deps.sh" "${need[@]}" >&2
  "$ROOT/scripts/install-critools.sh" >/dev/null
  if [ -f "$DIR/.done" ]; then
    start_registry # over the images a stopped fixture kept
    write_env; cat "$ENV"; return
  fi
  mkdir -p "$DIR"
  start_registry
  local t0=$SECONDS
  build_images
  bah rmi --all -f >/dev/null 2>&1 || true
  awk -v r="$DIR/buildah" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
  rm -rf "$DIR/buildah" "$DIR/rootfs" "$DIR/deb"
  write_cni
  write_env
  touch "$DIR/.done"
  say "up in $((SECONDS - t0))s, registry $REG"
  cat "$ENV"
}

# stop ends the registry this fixture started, by its PID once its executable
# is checked.
stop() {
  local pid exe
  pid=$(registry_pid)
  if [ -n "$pid" ] && exe=$(readlink "/proc/$pid/exe" 2>/dev/null) && [ "$(basename "$exe")" = docker-registry ]; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

down() {
  stop
  ip link del "$BRIDGE" 2>/dev/null || true
  awk -v r="$DIR/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r umount -l
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  stop) stop ;;
  down) down ;;
  env) [ -f "$DIR/.done" ] && registry_up && cat "$ENV" || fail "not up" ;;
  *) echo "usage: $0 up|stop|down|env" >&2; exit 2 ;;
esac
