# Helpers for bench/engine/run.sh. Sourced; functions only.

# wait_for SECONDS CMD...: retry CMD (quietly) every 0.2 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# time_ms CMD: runs CMD (word-split), prints its wall time in ms (3 decimals).
time_ms() {
	local t0 t1
	t0=$(date +%s%N)
	$1 >/dev/null || { echo "bench/engine: failed: $1" >&2; return 1; }
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN{printf "%.3f\n", d/1e6}'
}

# median FILE: median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{v[NR]=$1} END{if (NR==0) print 0; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
# rss_split PID: "anon A MB, file-backed F MB" of PID's resident memory.
rss_split() { awk '/^RssAnon:/{a=$2} /^RssFile:/{f=$2} END{printf "anon %.1f MB, file-backed %.1f MB", a/1024, f/1024}' "/proc/$1/status"; }

# procs_matching STR: pids whose command line contains STR (not this shell's).
procs_matching() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		{ tr "\0" " " <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "$p"
	done
	return 0
}

# monitor_mem EXE STR: "Rss Private_Dirty" (kB) of each process running the
# binary named EXE (or EXE-watch: pier-monitor's watch image) whose command
# line contains STR.
monitor_mem() {
	local p e
	for p in $(procs_matching "$2"); do
		e=$(basename "$(readlink "/proc/$p/exe" 2>/dev/null)")
		[ "$e" = "$1" ] || [ "$e" = "$1-watch" ] || continue
		awk '/^Rss:/{r=$2} /^Private_Dirty:/{d=$2} END{print r, d}' "/proc/$p/smaps_rollup"
	done
}

# init_mem EXE STR: Private_Dirty (kB) of each child named EXE of the
# monitors monitor_mem finds for STR (the containers' PID 1: pier-init).
init_mem() {
	local p c e
	for p in $(procs_matching "$2"); do
		e=$(basename "$(readlink "/proc/$p/exe" 2>/dev/null)")
		case $e in pier-monitor | pier-monitor-watch) ;; *) continue ;; esac
		for c in $(pgrep -P "$p"); do
			[ "$(basename "$(readlink "/proc/$c/exe" 2>/dev/null)")" = "$1" ] || continue
			awk '/^Private_Dirty:/{print $2}' "/proc/$c/smaps_rollup"
		done
	done
}

# starts50 CMD: wall time in seconds of 50 concurrent CMDs; fails if any did.
starts50() {
	local t0 t1 i pids=() bad=0
	t0=$(date +%s%N)
	for i in $(seq 50); do
		$1 >/dev/null 2>>"$W/starts50.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	t1=$(date +%s%N)
	[ $bad = 0 ] || { echo "bench/engine: $bad of 50 starts failed: $1" >&2; tail -3 "$W/starts50.err" >&2; return 1; }
	awk -v d=$((t1 - t0)) 'BEGIN{printf "%.2f\n", d/1e9}'
}

# col FILE N: column N of FILE.
col() { awk -v n="$2" '{print $n}' "$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if (b>0) printf "%.3f", a/b; else print "-"}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<=b)}' && echo met || echo "NOT met"; }

# report: the table, engine.json, engine.svg from run.sh's globals.
report() {
	local e m
	declare -gA V
	for e in pier docker podman; do
		V[run.$e]=$(median "$W/run.$e")
		V[runbridge.$e]=$(median "$W/runbridge.$e")
		V[exec.$e]=$(median "$W/exec.$e")
		col "$W/mon.$e" 1 >"$W/monr.$e"; col "$W/mon.$e" 2 >"$W/mond.$e"
		V[monrss.$e]=$(awk -v k="$(median "$W/monr.$e")" 'BEGIN{printf "%.2f", k/1024}')
		V[mondirty.$e]=$(awk -v k="$(median "$W/mond.$e")" 'BEGIN{printf "%.2f", k/1024}')
	done
	V[initdirty.pier]=$(awk -v k="$(median "$W/init.pier")" 'BEGIN{printf "%.2f", k/1024}')
	V[ctrdirty.pier]=$(awk -v a="${V[mondirty.pier]}" -v b="${V[initdirty.pier]}" 'BEGIN{printf "%.2f", a+b}')
	V[daemon.pier]=$(awk -v k="$D_PIER" 'BEGIN{printf "%.1f", k/1024}')
	V[daemon.docker]=$(awk -v k="$D_DOCKER" 'BEGIN{printf "%.1f", k/1024}')
	V[daemon.podman]=0
	V[daemon0.pier]=$(awk -v k="$D_PIER_START" 'BEGIN{printf "%.1f", k/1024}')
	V[daemon0.docker]=$(awk -v k="$D_DOCKER_START" 'BEGIN{printf "%.1f", k/1024}')
	V[daemon0.podman]=0
	V[start50.pier]=$S_PIER V[start50.docker]=$S_DOCKER V[start50.podman]=$S_PODMAN

	local out=$RESULTS/engine.txt
	{
		echo "engine benchmark, $N runs each (medians), $(date -u +%F), $(nproc) CPUs, $(uname -r)"
		printf "%-30s %10s %10s %10s %9s %9s\n" metric pier docker podman pier/dkr pier/pod
		for m in "run:run --rm true (ms)" "runbridge:run --rm true, bridge (ms)" "exec:exec true (ms)" "daemon:daemon idle RSS (MB)" "daemon0:daemon RSS at start (MB)" \
			"monrss:monitor RSS (MB)" "mondirty:monitor Private_Dirty (MB)" "start50:50 concurrent run -d (s)"; do
			local k=${m%%:*}
			printf "%-30s %10s %10s %10s %9s %9s\n" "${m#*:}" "${V[$k.pier]}" "${V[$k.docker]}" "${V[$k.podman]}" \
				"$(ratio "${V[$k.pier]}" "${V[$k.docker]}")" "$(ratio "${V[$k.pier]}" "${V[$k.podman]}")"
		done
		echo "(docker daemon = dockerd + containerd; podman has no daemon; monitor = pier-monitor / containerd-shim-runc-v2 / conmon, median of 10)"
		echo "goals:"
		echo "  run <= 0.12x docker:  $(ratio "${V[run.pier]}" "${V[run.docker]}")x  $(le "$(ratio "${V[run.pier]}" "${V[run.docker]}")" 0.12)"
		echo "  run, bridge <= 0.15x docker: $(ratio "${V[runbridge.pier]}" "${V[runbridge.docker]}")x  $(le "$(ratio "${V[runbridge.pier]}" "${V[runbridge.docker]}")" 0.15)"
		echo "  exec <= 0.25x docker: $(ratio "${V[exec.pier]}" "${V[exec.docker]}")x  $(le "$(ratio "${V[exec.pier]}" "${V[exec.docker]}")" 0.25)"
		echo "  daemon <= 20 MB:      ${V[daemon.pier]} MB ($D_PIER_SPLIT_AFTER)  $(le "${V[daemon.pier]}" 20); at start ${V[daemon0.pier]} MB ($D_PIER_SPLIT)  $(le "${V[daemon0.pier]}" 20)"
		echo "  monitor + init <= 1.5 MB: Private_Dirty ${V[mondirty.pier]} + ${V[initdirty.pier]} (pier-init) = ${V[ctrdirty.pier]} MB  $(le "${V[ctrdirty.pier]}" 1.5)"
		echo "  50 starts <= 1.5 s:   ${V[start50.pier]} s  $(le "${V[start50.pier]}" 1.5)"
	} | tee "$out"

	local args=() k
	for k in "${!V[@]}"; do args+=(--arg "$k" "${V[$k]}"); done
	jq -n --argjson n "$N" "${args[@]}" '$ARGS.named | del(.n) | to_entries
		| map(.key |= split(".")) | reduce .[] as $e ({}; .[$e.key[0]][$e.key[1]] = ($e.value|tonumber))
		| {runs: $n, units: {run: "ms", runbridge: "ms", exec: "ms", daemon: "MB", daemon0: "MB", monrss: "MB", mondirty: "MB", start50: "s"}, medians: .}' \
		>"$RESULTS/engine.json"
	svg >"$RESULTS/engine.svg"
	cp "$RESULTS/engine.svg" "$REPO/bench/engine/engine.svg"
	echo "bench/engine: wrote $out, $RESULTS/engine.json, $RESULTS/engine.svg (copied to bench/engine/engine.svg)" >&2
}

# svg: a hand-written horizontal bar chart, one group per metric, bars scaled
# to the largest value in their group (the metrics have different units).
svg() {
	local groups=("run:run --rm busybox true:ms" "exec:exec true:ms" "daemon:daemon idle RSS:MB"
		"mondirty:per-container monitor, Private_Dirty:MB" "start50:50 concurrent run -d:s")
	local gh=78 w=640 x0=90 bw=430 y=40 g k e v max len color
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">\n' $w $((40 + gh * ${#groups[@]} + 10))
	printf '<rect width="100%%" height="100%%" fill="white"/>\n'
	printf '<text x="10" y="22" font-size="15" font-weight="bold">pier vs docker 20.10 vs podman 4.3 (medians of %d; shorter is better)</text>\n' "$N"
	for g in "${groups[@]}"; do
		k=${g%%:*}
		printf '<text x="10" y="%d" font-weight="bold">%s</text>\n' $((y + 12)) "$(echo "$g" | cut -d: -f2)"
		max=$(printf '%s\n' "${V[$k.pier]}" "${V[$k.docker]}" "${V[$k.podman]}" | sort -g | tail -1)
		local row=0
		for e in pier docker podman; do
			v=${V[$k.$e]}
			case $e in pier) color="#2b7bb9" ;; docker) color="#999999" ;; podman) color="#7a5195" ;; esac
			len=$(awk -v v="$v" -v m="$max" -v b=$bw 'BEGIN{if (m>0) printf "%.1f", v/m*b; else print 0}')
			printf '<text x="%d" y="%d" text-anchor="end">%s</text>\n' $((x0 - 6)) $((y + 30 + row * 16)) "$e"
			printf '<rect x="%d" y="%d" width="%s" height="12" fill="%s"/>\n' $x0 $((y + 20 + row * 16)) "$len" "$color"
			if [ "$k" = daemon ] && [ "$e" = podman ]; then v="no daemon"; else v="$v $(echo "$g" | cut -d: -f3)"; fi
			printf '<text x="%s" y="%d">%s</text>\n' "$(awk -v l="$len" -v x=$x0 'BEGIN{print x+l+5}')" $((y + 30 + row * 16)) "$v"
			row=$((row + 1))
		done
		y=$((y + gh))
	done
	echo '</svg>'
}

# start_pierd_dockerd [BRIDGE]: starts pierd and a private dockerd (no
# iptables, no ip_forward sysctl, its cgroups under /pier/$CG; its default
# network is the existing bridge BRIDGE, else none) on sockets in $W, with
# $BIN's binaries; sets PP and DP to their pids.
start_pierd_dockerd() {
	# The exec root in $W too: monitor_mem finds the monitors by their
	# config's path, which lives there.
	# A pierd from before the exec root (PIER_BIN of an older build) has no --exec-root.
	# (The help is read whole first: grep -q on a pipe ends early, and under
	# pipefail pierd's SIGPIPE would make the test fail at random.)
	local xr=() help
	help=$("$BIN/pierd" --help 2>&1 || true)
	[[ $help == *-exec-root* ]] && xr=(--exec-root "$W/pier-exec")
	# The CRI on a socket of the run's own: on the default path it would be
	# off whenever another pierd holds /run/pier/cri.sock, and pierd's RSS
	# would depend on what else runs on the machine.
	[[ $help == *-cri-socket* ]] && xr+=(--cri-socket "$W/cri.sock")
	"$BIN/pierd" --root "$W/pier" "${xr[@]}" --host "unix://$W/pier.sock" --runtime "$BIN/pier-runtime" >"$W/pierd.log" 2>&1 &
	PP=$!
	cat >"$W/daemon.json" <<JSON
{"iptables": false, "ip-masq": false, "ip-forward": false, "bridge": "${1:-none}", "data-root": "$W/docker", "exec-root": "$W/dexec",
 "pidfile": "$W/docker.pid", "hosts": ["unix://$W/docker.sock"], "cgroup-parent": "/pier/$CG"}
JSON
	dockerd --config-file "$W/daemon.json" >"$W/dockerd.log" 2>&1 &
	DP=$!
}

# stop_pierd_dockerd: ends PP and DP, then what this run started that is
# still alive (shims, monitors: their command lines name $W), unmounts and
# removes $W, and removes the cgroups under /pier/$CG.
stop_pierd_dockerd() {
	local p
	for p in $PP $DP; do kill "$p" 2>/dev/null; done
	for p in $PP $DP; do wait "$p" 2>/dev/null; done
	for p in $(procs_matching "$W"); do kill -9 "$p" 2>/dev/null; done
	sleep 0.5
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$W"
	find /sys/fs/cgroup/*/pier/"$CG"* -depth -type d -exec rmdir {} \; 2>/dev/null
}
