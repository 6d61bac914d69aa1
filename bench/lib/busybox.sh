# Shell helpers shared by pier's benchmarks and scripts/conformance.sh.
# Source it; it defines functions only and changes no shell options.

# make_busybox_rootfs DIR: a minimal rootfs from Debian's busybox-static: the
# static binary, one symlink per applet (what `busybox --install -s` makes),
# /etc/passwd, /etc/group and empty mount points. Idempotent.
make_busybox_rootfs() {
	local dir=$1 applet
	[ -x /bin/busybox ] || { echo "make_busybox_rootfs: /bin/busybox missing (apt-get install busybox-static)" >&2; return 1; }
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var/tmp} || return 1
	chmod 1777 "$dir/tmp"
	cp /bin/busybox "$dir/bin/busybox" || return 1
	# Links are made from the host's applet list rather than by running busybox
	# inside a chroot, so no mount or chroot is needed.
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -sfn busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$dir/etc/group"
}

# make_busybox_bundle DIR ARG...: an OCI bundle in DIR (rootfs/ + config.json)
# running ARG... without a terminal. The config is runc's default (`runc
# spec`) with ociVersion 1.0.2, because crun 1.8.1 rejects any version that
# lacks "1.0". Needs runc and jq.
make_busybox_bundle() {
	local dir=$1 args
	shift
	make_busybox_rootfs "$dir/rootfs" || return 1
	rm -f "$dir/config.json"
	(cd "$dir" && runc spec) || return 1
	args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .) || return 1
	jq --argjson args "$args" \
		'.ociVersion = "1.0.2" | .process.terminal = false | .process.args = $args' \
		"$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

