# Shared by bench/build and bench/buildkit, which build the same three
# Dockerfiles with different engines. Needs $W, $DOCKER, $BUILDAH (and,
# for seed_busybox, a busybox rootfs at $W/rootfs).

# seed_busybox: busybox:latest in dockerd (imported from $W/rootfs), saved to
# $W/busybox.tar, and in buildah's store under docker.io's name.
seed_busybox() {
	tar -C "$W/rootfs" -c . | $DOCKER import --change 'CMD ["sh"]' - busybox:latest >/dev/null
	$DOCKER save busybox:latest -o "$W/busybox.tar"
	$BUILDAH pull -q docker-archive:"$W/busybox.tar" >/dev/null
	$BUILDAH tag "$($BUILDAH images -q | head -1)" docker.io/library/busybox:latest
}

# make_contexts: the three workloads in $W/a, $W/b, $W/c:
# (a) FROM, RUN, COPY; (b) five steps with a 50 MB COPY; (c) three stages.
make_contexts() {
	mkdir -p "$W/a" "$W/b" "$W/c"
	echo data >"$W/a/file"
	printf 'FROM busybox\nRUN echo built > /built\nCOPY file /file\n' >"$W/a/Dockerfile"
	head -c 50000000 /dev/urandom >"$W/b/big"
	printf 'FROM busybox\nENV APP=/app\nRUN mkdir -p /app\nCOPY big /app/big\nCMD ["ls", "-l", "/app"]\n' >"$W/b/Dockerfile"
	echo data >"$W/c/file"
	cat >"$W/c/Dockerfile" <<'DF'
FROM busybox AS one
RUN echo one > /one
FROM busybox AS two
COPY file /file
RUN cat /file > /two
FROM busybox
COPY --from=one /one /one
COPY --from=two /two /two
CMD ["cat", "/one", "/two"]
DF
}

# ms CMD...: CMD's wall time in milliseconds.
ms() { local s; s=$(date +%s%N); "$@"; echo $((($(date +%s%N) - s) / 1000000)); }
