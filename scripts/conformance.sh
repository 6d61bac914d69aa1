#!/usr/bin/env bash
# OCI runtime conformance: the opencontainers/runtime-tools validation programs
# (validation/<name>/, one TAP-printing main per test) against pier-runtime
# and, when installed, runc, side by side.
#
# usage: scripts/conformance.sh [-run NAME[,NAME...]] [-pier PATH] [-runc PATH|""]
#                               [-timeout SECONDS] [-results DIR]
#   -run      only these programs (e.g. -run hooks_stdin,state)
#   -pier     pier-runtime binary (default: bin/pier-runtime; env PIER_RUNTIME)
#   -runc     peer binary (default: runc from PATH; env RUNC; "" skips it)
#   -timeout  seconds per program and runtime (default 30; env PROG_TIMEOUT);
#             a program that hits it shows "T" in the table
#   -results  where TAP output goes (default bench/results/conformance)
# Env: RTT_VERSION (runtime-tools module version), RTT_CACHE (build cache,
#      default ${XDG_CACHE_HOME:-/tmp}/pier-rtt).
#
# The first run builds the programs through the Go module proxy; nothing else
# touches the network. Exit status: 0 when the suite ran, whatever it found.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../bench/lib/busybox.sh
. "$REPO/bench/lib/busybox.sh"

RTT_VERSION=${RTT_VERSION:-v0.9.1-0.20251114084447-edf4cb3d2116} # master of 2025-11-14, runtime-spec 1.3
RTT_CACHE=${RTT_CACHE:-${XDG_CACHE_HOME:-/tmp}/pier-rtt}
PIER=${PIER_RUNTIME:-$REPO/bin/pier-runtime}
RUNC=${RUNC-$(command -v runc || true)}
TIMEOUT=${PROG_TIMEOUT:-30}
RESULTS=$REPO/bench/results/conformance
ONLY=""

while [ $# -gt 0 ]; do
	case $1 in
	-run) ONLY=${2:?-run needs a program name}; shift 2 ;;
	-pier) PIER=$2; shift 2 ;;
	-runc) RUNC=$2; shift 2 ;;
	-timeout) TIMEOUT=$2; shift 2 ;;
	-results) RESULTS=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "conformance: unknown argument $1 (try -h)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "conformance: needs root (containers, cgroups, mounts)" >&2; exit 2; }
for tool in go jq unshare timeout tar; do
	command -v "$tool" >/dev/null || { echo "conformance: $tool not found" >&2; exit 2; }
done

VDIR=$RTT_CACHE/$RTT_VERSION
BIN=$VDIR/bin

# build_suite compiles runtimetest (the in-container checker, static) and every
# validation program into $BIN, once per version.
build_suite() {
	[ -f "$BIN/.built" ] && return 0
	echo "# building runtime-tools $RTT_VERSION into $BIN" >&2
	mkdir -p "$VDIR"
	local mod src=$VDIR/src
	mod=$(cd "$VDIR" && GOFLAGS=-mod=mod go mod download -json "github.com/opencontainers/runtime-tools@$RTT_VERSION" | jq -r .Dir)
	rm -rf "$src" "$BIN"
	cp -r "$mod" "$src"
	chmod -R u+w "$src"
	rm -rf "$src/vendor" # the module zip holds only vendor/modules.txt
	mkdir -p "$BIN"
	(
		cd "$src"
		export GOFLAGS=-mod=mod
		CGO_ENABLED=0 go build -tags 'netgo osusergo' -o "$BIN/runtimetest" ./cmd/runtimetest
		# -o DIR builds every main package, each named after its directory.
		go build -o "$BIN/progs/" ./validation/...
	)
	touch "$BIN/.built"
}

# prepare_workdir makes the directory the programs run in: they untar
# ./rootfs-amd64.tar.gz into each bundle and copy ./runtimetest into it.
prepare_workdir() {
	WORKDIR=$VDIR/run
	if [ ! -f "$WORKDIR/rootfs-amd64.tar.gz" ]; then
		rm -rf "$WORKDIR"
		mkdir -p "$WORKDIR"
		make_busybox_rootfs "$WORKDIR/rootfs"
		tar -C "$WORKDIR/rootfs" -czf "$WORKDIR/rootfs-amd64.tar.gz.tmp" .
		mv "$WORKDIR/rootfs-amd64.tar.gz.tmp" "$WORKDIR/rootfs-amd64.tar.gz"
		rm -rf "$WORKDIR/rootfs"
	fi
	cp "$BIN/runtimetest" "$WORKDIR/runtimetest"
	BUNDLES=$VDIR/bundles
	mkdir -p "$BUNDLES"
}

# tally TAPFILE prints "PASS FAIL SKIP STRAY PLAN" for one program's output.
# A test line "ok N" passes ("# SKIP" counted apart), "not ok N" fails. Some
# programs (hooks, start, ...) print only a plan "1..0" and, on failure, a
# YAML block carrying "error" that belongs to no test line: STRAY counts those.
# PLAN is 1 when a plan line was seen.
tally() {
	awk '
	function close_yaml() { if (inyaml && !owned && haserr) stray++; inyaml = 0 }
	/^(not )?ok [0-9]+/ { last = "test"; if (/^not ok/) fail++; else if (/# SKIP/) skip++; else pass++; next }
	/^  ---/   { inyaml = 1; owned = (last == "test"); haserr = 0; next }
	/^  \.\.\./ { close_yaml(); last = owned ? "test" : "other"; next }
	inyaml     { if (/"error"/) haserr = 1; next }
	/^1\.\.[0-9]+/ { plan = 1; last = "other"; next }
	/^TAP version/ { last = "other"; next }
	END { close_yaml(); printf "%d %d %d %d %d\n", pass, fail, skip, stray, plan }' "$1"
}

# score NAME PROG RC prints "PASS FAIL SKIP RC" for one finished program.
# Programs checking that an invalid config is refused (*_fail) print nothing
# and exit 0 on success: one pass. A lifecycle program with a clean "1..0"
# is one pass. A crash or timeout that recorded no failure is one failure.
score() {
	local out=$RESULTS/$1/$2 rc=$3 pass fail skip stray plan
	read -r pass fail skip stray plan < <(tally "$out.tap")
	fail=$((fail + stray))
	if [ "$rc" -eq 0 ] && [ "$plan" -eq 0 ] && [ ! -s "$out.tap" ]; then
		pass=1
	elif [ "$rc" -ne 0 ] || [ "$plan" -eq 0 ]; then
		[ "$fail" -eq 0 ] && fail=1
		echo "exit status $rc" >>"$out.err"
	elif [ $((pass + fail + skip)) -eq 0 ]; then
		pass=1
	fi
	echo "$pass $fail $skip $rc"
}

# cleanup_runtime BIN deletes the containers the programs left behind and
# their bundles. The programs make bundles with os.MkdirTemp under $TMPDIR,
# which points at our own $BUNDLES, so containers and directories of anyone
# else's run on this machine are never touched.
cleanup_runtime() {
	local id d
	for id in $("$1" list -f json 2>/dev/null |
		jq -r --arg dir "$BUNDLES/" '.[]? | select(.bundle | startswith($dir)) | .id' 2>/dev/null); do
		"$1" delete -f "$id" >/dev/null 2>&1 || true
	done
	# A bundle is removed only when nothing is mounted below it: the programs
	# run in private mount namespaces, so normally nothing is.
	for d in "$BUNDLES"/*; do
		[ -d "$d" ] || continue
		grep -q " $d[/ ]" /proc/self/mountinfo || rm -rf --one-file-system "$d"
	done
}

# run_one NAME BIN PROG runs one program against one runtime in its own mount
# namespace (linux_ns_itype leaks mounts into its caller's) and prints its score.
run_one() {
	local name=$1 rt=$2 prog=$3 rc=0
	(cd "$WORKDIR" && TMPDIR=$BUNDLES RUNTIME=$rt timeout -k 5 "$TIMEOUT" unshare -m --propagation private "$BIN/progs/$prog" \
		>"$RESULTS/$name/$prog.tap" 2>"$RESULTS/$name/$prog.err") || rc=$?
	cleanup_runtime "$rt"
	score "$name" "$prog" "$rc"
}

build_suite
prepare_workdir

NAMES=() RTS=()
if [ -x "$PIER" ]; then NAMES+=(pier-runtime); RTS+=("$(readlink -f "$PIER")")
else echo "# pier-runtime not found at $PIER (make build): skipped" >&2; fi
if [ -n "$RUNC" ] && [ -x "$RUNC" ]; then NAMES+=(runc); RTS+=("$(readlink -f "$RUNC")")
else echo "# runc not installed: skipped" >&2; fi
[ ${#NAMES[@]} -gt 0 ] || { echo "conformance: no runtime to test" >&2; exit 2; }

PROGS=()
if [ -n "$ONLY" ]; then
	IFS=, read -r -a PROGS <<<"$ONLY"
	for p in "${PROGS[@]}"; do [ -x "$BIN/progs/$p" ] || { echo "conformance: no program $p in $BIN/progs" >&2; exit 2; }; done
else
	for p in "$BIN"/progs/*; do PROGS+=("$(basename "$p")"); done
fi

for n in "${NAMES[@]}"; do rm -rf "${RESULTS:?}/$n"; mkdir -p "$RESULTS/$n"; done
declare -A TP TF TS
for n in "${NAMES[@]}"; do TP[$n]=0 TF[$n]=0 TS[$n]=0; done

SUMMARY=$RESULTS/summary.txt
{
	printf '%-36s' program
	for n in "${NAMES[@]}"; do printf ' %24s' "$n pass/fail"; done
	printf '\n'
} | tee "$SUMMARY"
for p in "${PROGS[@]}"; do
	line=$(printf '%-36s' "$p")
	firstfail=""
	for i in "${!NAMES[@]}"; do
		n=${NAMES[$i]}
		read -r pass fail skip rc < <(run_one "$n" "${RTS[$i]}" "$p")
		TP[$n]=$((TP[$n] + pass)) TF[$n]=$((TF[$n] + fail)) TS[$n]=$((TS[$n] + skip))
		cell="$pass/$fail"
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && cell+=" T"
		line+=$(printf ' %24s' "$cell")
		[ "$i" -eq 0 ] && firstfail=$fail
		# Mark programs where pier-runtime fails more than the peer.
		[ "$i" -gt 0 ] && [ "${NAMES[0]}" = pier-runtime ] && [ "$firstfail" -gt "$fail" ] && line+="  <"
	done
	echo "$line" | tee -a "$SUMMARY"
done
{
	echo
	for n in "${NAMES[@]}"; do
		echo "$n: ${TP[$n]} passed, ${TF[$n]} failed (${TS[$n]} skipped)"
	done
	echo "# runtime-tools $RTT_VERSION; TAP per program in $RESULTS/<runtime>/<program>.tap (stderr in .err)"
	echo "# '<' marks programs where pier-runtime fails more tests than runc; T a timeout (${TIMEOUT}s)"
} | tee -a "$SUMMARY"
