/*
 * The C preamble of pier-runtime: the namespace steps that must happen
 * before the Go runtime starts.
 *
 * Why C: setns(2) into a mount or user namespace fails with EINVAL in a
 * multi-threaded process, and the Go runtime starts threads before main().
 * This constructor runs while the process is still single-threaded. It does
 * nothing at all unless _PIER_BOOTSTRAP_FD is set, so every ordinary
 * pier-runtime command starts Go straight away.
 *
 * Stages (P = this process, child of the runtime R; C = its clone),
 * numbered as in the comments of the functions below:
 *
 *   R (Go)                          P (C, before Go)                 C
 *   start P as "pier-runtime:[preamble]"
 *                                   0 non-dumpable, named
 *   send bootstrap -------------->  1 read header, paths, offsets
 *                                   2 enter the v1 cgroups: "0" > tasks
 *                                   3 open every path to join,
 *                                     setns(user) first, then the rest
 *                                   4 new userns? unshare(NEWUSER)
 *   write uid_map/gid_map  <------    USERMAP(pid)
 *   USERMAP_ACK ----------------->    setresuid/gid(0), non-dumpable
 *                                   5 unshare(other CLONE_NEW* flags),
 *                                     write timens offsets
 *                                   6 clone3(CLONE_PARENT|          7 close the cgroup fd,
 *                                     CLONE_INTO_CGROUP) ------->     rename to
 *   <-----------------------------    PID(C); _exit(0)                "pier-runtime:[init]",
 *                                                                     return into Go:
 *   wait(P); speak JSON with C over the same socket <------------->  pier-runtime init
 *
 * With the bootstrap's cinit set, C does not return into Go: it reads the
 * runtime's plan from the same socket and runs the C init (cinit.c).
 *
 * Non-dumpable (stage 0): a process in the container (an earlier exec, a
 * container sharing the pid namespace) must not ptrace P or C, nor open
 * their /proc/PID/fd or mem, while they still hold the runtime's fds and
 * see the host's filesystem. The kernel makes the process dumpable again
 * at the program's execve (for a program its user may read), and a
 * credential change resets it to fs.suid_dumpable, so stage 4 sets it again
 * (and containerinit once more after it switches to the process's user).
 *
 * Cgroups: a write of another process's pid to cgroup.procs takes the
 * kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU
 * grace period (3-15 ms on a small VM); that was most of a container's
 * start time. A single thread moving itself ("0" to a v1 tasks file) and
 * clone3(CLONE_INTO_CGROUP) into a v2 cgroup skip it. P is single-threaded,
 * so it does both: the v1 hierarchies by itself, the v2 one at the clone.
 * A kernel without CLONE_INTO_CGROUP (< 5.7) gets the slow cgroup.procs
 * write instead.
 *
 * CLONE_PARENT makes C a child of R, so R can wait for it directly; C is
 * the first process of a new pid namespace when one was asked for, since
 * unshare(CLONE_NEWPID) and setns of a pid namespace only apply to
 * children. On any failure P sends ERROR(errno, what) and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cinit.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

struct join {
	uint32_t nstype;
	int fd;
	char path[PIER_MAX_PATH];
};

struct cgroup {
	uint32_t kind;
	char path[PIER_MAX_PATH];
};

/* clone3's argument, declared here: <linux/sched.h> clashes with glibc's. */
struct pier_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define PIER_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static int sock = -1;

/* The opt-in timeline (internal/trace's format): with PIER_TRACE set,
 * "<CLOCK_MONOTONIC ns> <pid> <who> <phase>" per stage, one write each on
 * an O_APPEND, close-on-exec descriptor. */
static int tracefd = -1;

static void trace_open(void)
{
	const char *path = getenv(PIER_TRACE_ENV);

	if (path != NULL && *path != '\0')
		tracefd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void mark(const char *who, const char *phase)
{
	struct timespec ts;
	char buf[160];
	int n;

	if (tracefd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "%lld %d %s %s\n",
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid(), who, phase);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(tracefd, buf, (size_t)n);
}

static void fail(const char *what, int err) __attribute__((noreturn));
static void fail(const char *what, int err)
{
	struct pier_reply r = { .type = PIER_MSG_ERROR, .err = err };

	snprintf(r.text, sizeof(r.text), "%s", what);
	if (sock >= 0 && write(sock, &r, sizeof(r)) < 0) {
		/* The parent is gone; nobody is left to tell. */
	}
	_exit(1);
}

static void read_full(void *buf, size_t len, const char *what)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(sock, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(what, n < 0 ? errno : EPIPE);
		p += n;
		len -= (size_t)n;
	}
}

static void send_reply(uint32_t type, pid_t pid)
{
	struct pier_reply r = { .type = type, .pid = pid };

	if (write(sock, &r, sizeof(r)) != sizeof(r))
		fail("send reply to runtime", errno);
}

/* Stage 0: what ps shows. argv[0] is rewritten in place, never grown: the
 * strings argv points to are one contiguous area that /proc/PID/cmdline
 * reads; the other arguments move up behind the new name and the rest is
 * zeroed. comm (PR_SET_NAME) holds 15 characters. */
static void set_name(int argc, char **argv, const char *name, const char *comm)
{
	char args[256];
	size_t room, used = 0, len = strlen(name);

	prctl(PR_SET_NAME, (unsigned long)comm, 0, 0, 0);
	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	room = strlen(argv[argc - 1]) + 1 + (size_t)(argv[argc - 1] - argv[0]);
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (argv[i] != argv[i - 1] + strlen(argv[i - 1]) + 1 || used + n > sizeof(args))
			return; /* not the kernel's contiguous layout: leave it */
		memcpy(args + used, argv[i], n);
		used += n;
	}
	if (len + 1 + used > room)
		return;
	memset(argv[0], 0, room);
	memcpy(argv[0], name, len);
	for (int i = 1, off = 0; i < argc; i++) {
		argv[i] = argv[0] + len + 1 + off;
		memcpy(argv[i], args + off, strlen(args + off) + 1);
		off += (int)strlen(args + off) + 1;
	}
}

static void non_dumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("stage 0: prctl non-dumpable", errno);
}

/* Stage 1: the header, the namespaces to join, the time offsets. */
/* One (uint32 type, uint32 len, path) entry into path, returning type. */
static uint32_t read_entry(char *path)
{
	uint32_t hdr[2];

	read_full(hdr, sizeof(hdr), "read bootstrap entry");
	if (hdr[1] >= PIER_MAX_PATH)
		fail("bootstrap: path too long", ENAMETOOLONG);
	read_full(path, hdr[1], "read bootstrap path");
	path[hdr[1]] = '\0';
	return hdr[0];
}

static void read_bootstrap(struct pier_bootstrap *b, struct join *j, struct cgroup *cg, char *timens)
{
	read_full(b, sizeof(*b), "read bootstrap header");
	if (b->magic != PIER_BOOTSTRAP_MAGIC || b->version != PIER_BOOTSTRAP_VERSION)
		fail("bootstrap: bad magic or version", EPROTO);
	if (b->njoin > PIER_MAX_JOIN || b->ncgroup > PIER_MAX_CGROUP || b->timens_len >= PIER_MAX_TIMENS)
		fail("bootstrap: message too large", E2BIG);
	for (uint32_t i = 0; i < b->njoin; i++)
		j[i].nstype = read_entry(j[i].path);
	for (uint32_t i = 0; i < b->ncgroup; i++)
		cg[i].kind = read_entry(cg[i].path);
	read_full(timens, b->timens_len, "read time offsets");
	timens[b->timens_len] = '\0';
}

/* Stage 2: enter the cgroups, before any namespace changes what the
 * paths mean. Returns the v2 directory's fd for clone3, or -1. With a user
 * namespace coming, clone3 would be refused (the cgroup's files belong to
 * the host's root, unmapped there), so P enters the v2 cgroup right away,
 * the slow way. */
static int enter_cgroups(struct cgroup *cg, uint32_t n, int userns)
{
	char what[PIER_REPLY_TEXT];
	int v2 = -1;

	for (uint32_t i = 0; i < n; i++) {
		if (cg[i].kind == PIER_CGROUP_V2DIR && !userns) {
			v2 = open(cg[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (v2 < 0) {
				snprintf(what, sizeof(what), "open cgroup %.200s", cg[i].path);
				fail(what, errno);
			}
			continue;
		}
		int dir = open(cg[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0) {
			snprintf(what, sizeof(what), "open cgroup %.200s", cg[i].path);
			fail(what, errno);
		}
		const char *file = cg[i].kind == PIER_CGROUP_V2DIR ? "cgroup.procs" : "tasks";
		int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
		close(dir);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			snprintf(what, sizeof(what), "join cgroup %.200s", cg[i].path);
			fail(what, errno);
		}
		close(fd);
	}
	return v2;
}

/* Stage 3: join namespaces by path. All paths are opened first, because
 * joining the mount namespace changes what later paths resolve to; the user
 * namespace is joined first, since it grants the rights to join the rest. */
static int join_namespaces(struct join *j, uint32_t n)
{
	char what[PIER_REPLY_TEXT];
	int joined_user = 0;

	for (uint32_t i = 0; i < n; i++) {
		j[i].fd = open(j[i].path, O_RDONLY | O_CLOEXEC);
		if (j[i].fd < 0) {
			snprintf(what, sizeof(what), "open namespace %.200s", j[i].path);
			fail(what, errno);
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			int is_user = j[i].nstype == CLONE_NEWUSER;
			if (is_user != (pass == 0))
				continue;
			if (setns(j[i].fd, (int)j[i].nstype) < 0) {
				snprintf(what, sizeof(what), "setns %.200s", j[i].path);
				fail(what, errno);
			}
			close(j[i].fd);
			joined_user |= is_user;
		}
	}
	return joined_user;
}

/* Stage 4: a new user namespace; the parent writes the id maps, since only
 * a process outside the namespace may map ids of its own namespace. */
static void new_userns(void)
{
	struct pier_reply ack;

	if (unshare(CLONE_NEWUSER) < 0)
		fail("unshare user namespace", errno);
	send_reply(PIER_MSG_USERMAP, getpid());
	read_full(&ack, sizeof(ack), "wait for id maps");
	if (ack.type != PIER_MSG_USERMAP_ACK)
		fail("wait for id maps: unexpected message", EPROTO);
}

static void become_root(void)
{
	if (setresgid(0, 0, 0) < 0)
		fail("setresgid 0 in user namespace", errno);
	if (setresuid(0, 0, 0) < 0)
		fail("setresuid 0 in user namespace", errno);
	non_dumpable(); /* the new credentials reset it to fs.suid_dumpable */
}

static void write_timens(const char *offsets)
{
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	size_t len = strlen(offsets);

	if (fd < 0)
		fail("open /proc/self/timens_offsets", errno);
	if (write(fd, offsets, len) != (ssize_t)len)
		fail("write /proc/self/timens_offsets", errno);
	close(fd);
}

/* Stage 5 is unshare and write_timens. Stage 6: clone the process that
 * goes on into Go, into the v2 cgroup if
 * there is one. Raw syscalls keep glibc's fork handlers out of a process
 * that is about to be torn down. */
static pid_t clone_parent(int cgroupfd)
{
	if (cgroupfd >= 0) {
		/* exit_signal must be 0 with CLONE_PARENT: C inherits P's, SIGCHLD. */
		struct pier_clone_args args = {
			.flags = CLONE_PARENT | PIER_CLONE_INTO_CGROUP,
			.cgroup = (uint64_t)cgroupfd,
		};
		long pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG))
			return (pid_t)pid;
		/* No CLONE_INTO_CGROUP: the slow way, the whole of P moves. */
		int fd = openat(cgroupfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			fail("join cgroup v2", errno);
		close(fd);
	}
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

static int has_user_join(struct join *j, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (j[i].nstype == CLONE_NEWUSER)
			return 1;
	return 0;
}

static struct join joins[PIER_MAX_JOIN];
static struct cgroup cgroups[PIER_MAX_CGROUP];
static char timens[PIER_MAX_TIMENS];

/* glibc passes argc and argv to constructors, static binaries included. */
__attribute__((constructor)) static void pier_nsenter(int argc, char **argv)
{
	struct pier_bootstrap b;
	const char *env = getenv(PIER_BOOTSTRAP_ENV);
	uint32_t rest;
	int joined_user, cgroupfd;
	pid_t pid;

	if (env == NULL || *env == '\0')
		return;
	trace_open();
	mark("preamble", "start");
	sock = atoi(env);
	if (sock < 3 || fcntl(sock, F_GETFD) < 0)
		fail("bootstrap fd", EBADF);
	non_dumpable();
	set_name(argc, argv, PIER_NAME_PREAMBLE, PIER_COMM_PREAMBLE);

	read_bootstrap(&b, joins, cgroups, timens);
	mark("preamble", "bootstrap read");
	cgroupfd = enter_cgroups(cgroups, b.ncgroup, b.cloneflags & CLONE_NEWUSER || has_user_join(joins, b.njoin));
	mark("preamble", "cgroups entered");
	joined_user = join_namespaces(joins, b.njoin);
	if (b.njoin > 0)
		mark("preamble", "namespaces joined");
	if (b.cloneflags & CLONE_NEWUSER)
		new_userns();
	if (joined_user || (b.cloneflags & CLONE_NEWUSER))
		become_root();
	rest = b.cloneflags & ~(uint32_t)CLONE_NEWUSER;
	if (rest && unshare((int)rest) < 0)
		fail("unshare namespaces", errno);
	if (b.timens_len > 0)
		write_timens(timens);
	mark("preamble", "namespaces made");

	pid = clone_parent(cgroupfd);
	if (pid < 0)
		fail("clone", errno);
	if (pid == 0) {
		/* Stage 7, C: the cgroup fd is a host directory the container
		 * must never hold (the CVE-2024-21626 class). Then on into the Go
		 * runtime and `pier-runtime init`. */
		if (cgroupfd >= 0)
			close(cgroupfd);
		set_name(argc, argv, PIER_NAME_INIT, PIER_COMM_INIT);
		if (b.cinit) {
			mark("init", "cloned, C init");
			pier_cinit(sock, tracefd);
		}
		mark("init", "cloned, into Go");
		if (tracefd >= 0)
			close(tracefd);
		return;
	}
	mark("preamble", "cloned");
	send_reply(PIER_MSG_PID, pid);
	_exit(0);
}
