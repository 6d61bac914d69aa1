# Helpers for bench/network/run.sh. Sourced after bench/engine/lib.sh (for
# wait_for, time_ms, median, procs_matching, ratio, le); functions only.

# start_daemons: pierd, and dockerd on a bridge of its own and podman on a
# private CNI network when they are installed; busybox imported into each.
start_daemons() {
	echo "bench/network: starting daemons, importing busybox" >&2
	# The daemons get sessions of their own, so that a signal to this
	# script's process group (timeout(1), ^C) leaves them to cleanup, which
	# needs them to remove their containers.
	setsid "$BIN/pierd" --root "$W/pier" --host "unix://$W/pier.sock" --runtime "$BIN/pier-runtime" >"$W/pierd.log" 2>&1 &
	PP=$!
	make_busybox_rootfs "$W/rootfs"
	if [ $DOCKER_ON = 1 ]; then
		ip link add "$DBR" type bridge
		DBR_MADE=1
		ip addr add 10.231.7.1/24 dev "$DBR"
		ip link set "$DBR" up
		cat >"$W/daemon.json" <<JSON
{"iptables": false, "ip-forward": false, "ip-masq": false, "bridge": "$DBR", "userland-proxy": true,
 "data-root": "$W/docker", "exec-root": "$W/dexec", "pidfile": "$W/docker.pid",
 "hosts": ["unix://$W/docker.sock"], "cgroup-parent": "/pier/$CG"}
JSON
		setsid dockerd --config-file "$W/daemon.json" >"$W/dockerd.log" 2>&1 &
		DP=$!
	fi
	if [ $PODMAN_ON = 1 ]; then
		ip link show "$PBR" >/dev/null 2>&1 && { echo "bench/network: $PBR exists: another run?" >&2; exit 1; }
		PBR_MADE=1
		mkdir -p "$W/cni"
		cat >"$W/cni/pbench.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "pbench", "plugins": [{"type": "bridge", "bridge": "$PBR",
 "isGateway": true, "ipMasq": false, "hairpinMode": true,
 "ipam": {"type": "host-local", "dataDir": "$W/cni-ipam", "routes": [{"dst": "0.0.0.0/0"}],
          "ranges": [[{"subnet": "10.231.8.0/24", "gateway": "10.231.8.1"}]]}}]}
JSON
		cat >"$CONTAINERS_CONF" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = "$W/cni"
default_network = "pbench"
CONF
	fi
	wait_for 30 $PIER info || { tail "$W/pierd.log" >&2; exit 1; }
	wait_for 30 $PIER image inspect busybox:latest || { echo "bench/network: pierd has no busybox" >&2; exit 1; }
	if [ $DOCKER_ON = 1 ]; then
		wait_for 30 $DOCKER info || { tail "$W/dockerd.log" >&2; exit 1; }
		tar -C "$W/rootfs" -c . | $DOCKER import - busybox:local >/dev/null
	fi
	if [ $PODMAN_ON = 1 ]; then
		tar -C "$W/rootfs" -c . | $PODMAN import - busybox:local >/dev/null 2>&1
	fi
}

cleanup() {
	set +e
	echo "bench/network: cleaning up" >&2
	local p
	for p in $SERVERS; do kill "$p" 2>/dev/null; done
	[ -n "$PP" ] && $PIER rm -f $($PIER ps -aq 2>/dev/null) >/dev/null 2>&1
	[ -n "$DP" ] && $DOCKER rm -f $($DOCKER ps -aq 2>/dev/null) >/dev/null 2>&1
	[ "$PODMAN_ON" = 1 ] && $PODMAN rm -af -t 0 >/dev/null 2>&1
	for p in $PP $DP; do kill "$p" 2>/dev/null; done
	for p in $PP $DP; do wait "$p" 2>/dev/null; done
	for p in $(procs_matching "$W"); do kill -9 "$p" 2>/dev/null; done
	sleep 0.5
	grep " $W" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	[ -n "${DBR_MADE:-}" ] && ip link del "$DBR" 2>/dev/null
	[ -n "${PBR_MADE:-}" ] && ip link del "$PBR" 2>/dev/null
	# libcni's cache, which podman keeps under /var/lib/cni whatever its
	# config says: empty once the containers are gone.
	[ "$CNI_BEFORE" = 0 ] && rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
	if ip link show "$PIERBR" >/dev/null 2>&1; then
		echo "bench/network: pierd left its bridge $PIERBR behind; deleting it" >&2
		ip link del "$PIERBR"
	fi
	rm -rf "$W"
	find /sys/fs/cgroup/*/pier/"$CG"* -depth -type d -exec rmdir {} \; 2>/dev/null
}

# container_ip ENGINE NAME: the container's first IPv4 address.
container_ip() {
	local ip
	ip=$($1 inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$2" | awk '{print $1}')
	[ -n "$ip" ] || ip=$($1 inspect -f '{{.NetworkSettings.IPAddress}}' "$2")
	echo "$ip"
}

# iperf_gbps PREFIX ADDR [CLIENT_ARG...]: one IPERF_SECS-second iperf3 test
# from the host against a one-off server on ADDR, started under PREFIX (e.g.
# nsenter into a container's netns); prints the receiver's Gbit/s. Each test
# has a port of its own, and every step is bounded in time: a hung iperf3
# fails the benchmark rather than stalling it.
IPERF_PORT=5300
iperf_gbps() {
	local prefix=$1 addr=$2 sp ok=0 port=$((IPERF_PORT++))
	shift 2
	$prefix iperf3 -s -1 -B "$addr" -p $port >"$W/iperf-server.log" 2>&1 &
	sp=$!
	SERVERS="$SERVERS $sp"
	for _ in $(seq 50); do
		$prefix ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	if timeout 30 iperf3 -c "$addr" -p $port -t "$IPERF_SECS" --connect-timeout 3000 -J "$@" >"$W/iperf.json" 2>&1; then
		ok=1
	fi
	for _ in $(seq 20); do
		kill -0 "$sp" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$sp" 2>/dev/null || true
	wait "$sp" 2>/dev/null || true
	if [ $ok = 0 ]; then
		echo "bench/network: iperf3 to $addr:$port failed:" >&2
		jq -r '.error // empty' "$W/iperf.json" >&2
		tail -3 "$W/iperf-server.log" >&2
		return 1
	fi
	jq '.end.sum_received.bits_per_second / 1e9' "$W/iperf.json" | awk '{printf "%.2f\n", $1}'
}

# med FILE [COL]: median of column COL (default 1), or "-" without data.
med() {
	[ -s "$1" ] || { echo -; return; }
	awk -v c="${2:-1}" '{print $c}' "$1" >"$1.col"
	median "$1.col"
}

# fmt PRINTF_FORMAT VALUE: VALUE formatted, "-" kept.
fmt() { awk -v f="$1" -v v="$2" 'BEGIN{if (v=="-") print "-"; else printf f "\n", v}'; }

sub() { awk -v a="$1" -v b="$2" 'BEGIN{if (a=="-" || b=="-") print "-"; else printf "%.1f", a-b}'; }

# report: the table and network.json from run.sh's files.
report() {
	declare -gA V
	local e out=$RESULTS/network.txt
	for e in pier docker podman; do
		V[bridge.$e]=$(fmt %.1f "$(med "$W/run.bridge.$e")")
		V[none.$e]=$(fmt %.1f "$(med "$W/run.none.$e")")
		V[cost.$e]=$(sub "${V[bridge.$e]}" "${V[none.$e]}")
		V[connrate.$e]=$(fmt %.0f "$(med "$W/conn.$e" 2)")
		V[connlat.$e]=$(med "$W/conn.$e" 3)
	done
	V[connrate.direct]=$(fmt %.0f "$(med "$W/conn.direct" 2)")
	V[connlat.direct]=$(med "$W/conn.direct" 3)
	for e in in.bridge in.lo out.bridge out.lo; do V[iperf.$e]=$(med "$W/iperf.$e"); done
	local row="%-40s %10s %10s %10s\n"
	{
		echo "network benchmark, $(date -u +%F), $(nproc) CPUs, $(uname -r)"
		echo "medians: run x$N; conn $REQ requests x3; iperf3 ${IPERF_SECS} s x$IPERF_RUNS"
		printf "$row" metric pier docker podman
		printf "$row" "run --rm true, default bridge (ms)" "${V[bridge.pier]}" "${V[bridge.docker]}" "${V[bridge.podman]}"
		printf "$row" "run --rm true, --network none (ms)" "${V[none.pier]}" "${V[none.docker]}" "${V[none.podman]}"
		printf "$row" "bridge adds to a run (ms)" "${V[cost.pier]}" "${V[cost.docker]}" "${V[cost.podman]}"
		printf "$row" "published 127.0.0.1 port (conn/s)" "${V[connrate.pier]}" "${V[connrate.docker]}" -
		printf "$row" "published 127.0.0.1 port (median ms)" "${V[connlat.pier]}" "${V[connlat.docker]}" -
		printf "$row" "container IP, no NAT (conn/s)" "${V[connrate.direct]}" - -
		echo "published port conn rate pier/docker: $(ratio "${V[connrate.pier]}" "${V[connrate.docker]}")x;" \
			"pier published/direct: $(ratio "${V[connrate.pier]}" "${V[connrate.direct]}")x"
		printf "$row" "iperf3 TCP (Gbit/s)" bridge loopback bridge/lo
		printf "$row" "  host -> container" "${V[iperf.in.bridge]}" "${V[iperf.in.lo]}" "$(ratio "${V[iperf.in.bridge]}" "${V[iperf.in.lo]}")"
		printf "$row" "  container -> host" "${V[iperf.out.bridge]}" "${V[iperf.out.lo]}" "$(ratio "${V[iperf.out.bridge]}" "${V[iperf.out.lo]}")"
		echo "(docker: --iptables=false on its own bridge, published ports through docker-proxy; podman: CNI bridge without"
		echo " masquerade or firewall plugin: both peers' bridge costs are lower bounds)"
		echo "goals:"
		echo "  bridge adds <= 10 ms to a run: ${V[cost.pier]} ms  $(le "${V[cost.pier]}" 10)"
	} | tee "$out"
	local args=() k
	for k in "${!V[@]}"; do args+=(--arg "$k" "${V[$k]}"); done
	jq -n --argjson n "$N" --argjson req "$REQ" "${args[@]}" '$ARGS.named | del(.n, .req) | to_entries
		| map(select(.value != "-") | .key |= split(".") | .value |= tonumber)
		| reduce .[] as $e ({}; .[$e.key[0]][$e.key[1:] | join(".")] = $e.value)
		| {runs: $n, requests: $req, units: {bridge: "ms", none: "ms", cost: "ms", connrate: "conn/s", connlat: "ms", iperf: "Gbit/s"}, medians: .}' \
		>"$RESULTS/network.json"
	echo "bench/network: wrote $out and $RESULTS/network.json" >&2
}
