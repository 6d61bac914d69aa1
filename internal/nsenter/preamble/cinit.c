/*
 * The C init: what the container's process does between the preamble's
 * clone and execve of the program, when the runtime chose it (the
 * bootstrap's cinit field): the runtime, in Go, has validated the config
 * and decided everything (each mount resolved, the cgroup tree expanded,
 * seccomp compiled to BPF, capabilities as bit masks, rlimits, user,
 * groups, cwd, argv, env) and sends it as a plan (nsenter.h). This file
 * reads the plan and runs its operations in order, one stage function
 * each (the filesystem's are in cinit_fs.c and cinit_root.c, the
 * process's in cinit_proc.c), so that a container's start
 * costs no second Go runtime.
 *
 *   runtime (Go)                       C init (the clone)
 *   PID(C) <------------------------   (preamble)
 *   plan ---------------------------> cgroup ns, session, keyring,
 *                                     oom_score_adj, mounts, /dev, hostname
 *          <------------------------- HOOKS
 *   createRuntime hooks; CONTINUE --> pivot_root, readonly and masked
 *                                     paths, sysctls, cwd, env, program
 *          <------------------------- READY (socket closed)
 *   `start` writes the exec fifo ---> fds, rlimits, seccomp, bounding set,
 *                                     user, capabilities, no_new_privs,
 *                                     umask, personality, execve
 *
 * Until READY a failure goes to the runtime as ERROR(errno, what) and the
 * process exits 1, as the Go init's did; after it, to stderr. The process
 * stays non-dumpable until execve (the preamble made it so, OpUser again
 * after the credential change) and holds no host descriptor but the
 * socket until READY and the exec fifo until execve, both close-on-exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cinit.h"

#define PIER_KEYCTL_JOIN_SESSION_KEYRING 1

int pier_errf(struct pier_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return err ? err : EINVAL;
}

/* What the stages share: the socket until READY, the program to run. */
struct cinit {
	int sock, tracefd, ready, devnull, proc;
	char **argv, **envp;
	char path[PIER_MAX_PATH];
};

static void mark(struct cinit *c, const char *phase, const char *arg)
{
	struct timespec ts;
	char buf[320];
	int n;

	if (c->tracefd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "%lld %d cinit %s%s%.200s\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
		     (int)getpid(), phase, arg ? " " : "", arg ? arg : "");
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(c->tracefd, buf, (size_t)n);
}

static int send_msg(int sock, uint32_t type, const struct pier_err *e)
{
	struct pier_reply r = { .type = type };

	if (e != NULL) {
		r.err = e->err;
		snprintf(r.text, sizeof(r.text), "%s", e->text);
	}
	return write(sock, &r, sizeof(r)) == sizeof(r) ? 0 : -1;
}

static void die(struct cinit *c, const struct pier_err *e, int code) __attribute__((noreturn));
static void die(struct cinit *c, const struct pier_err *e, int code)
{
	if (!c->ready && c->sock >= 0) {
		(void)send_msg(c->sock, PIER_MSG_ERROR, e);
	} else if (e->err) {
		dprintf(2, "pier-runtime init: %s: %s\n", e->text, strerror(e->err));
	} else {
		dprintf(2, "pier-runtime init: %s\n", e->text);
	}
	_exit(code);
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pier_plan_parse(char *body, size_t len, uint32_t nops, struct pier_op **out, struct pier_err *e)
{
	struct pier_op *ops = calloc(nops ? nops : 1, sizeof(*ops));
	size_t off = 0;

	if (ops == NULL)
		return pier_errf(e, ENOMEM, "plan: %u operations", nops);
	*out = ops;
	for (uint32_t i = 0; i < nops; i++) {
		struct pier_op_hdr h;
		if (len - off < sizeof(h))
			return pier_errf(e, EPROTO, "plan: operation %u truncated", i);
		memcpy(&h, body + off, sizeof(h));
		off += sizeof(h);
		if (h.op == 0 || h.op > PIER_OP_MAX || h.nstr > (len - off) / 4)
			return pier_errf(e, EPROTO, "plan: operation %u: bad type %u or %u strings", i, h.op, h.nstr);
		ops[i].op = h.op;
		ops[i].nstr = h.nstr;
		memcpy(ops[i].arg, h.arg, sizeof(h.arg));
		ops[i].s = calloc(h.nstr + 2, sizeof(char *)); /* one spare for HOME */
		ops[i].len = calloc(h.nstr + 1, sizeof(uint32_t));
		if (ops[i].s == NULL || ops[i].len == NULL)
			return pier_errf(e, ENOMEM, "plan: operation %u", i);
		for (uint32_t j = 0; j < h.nstr; j++) {
			uint32_t n;
			if (len - off < 4)
				return pier_errf(e, EPROTO, "plan: operation %u: string %u truncated", i, j);
			memcpy(&n, body + off, 4);
			off += 4;
			if (n > len - off)
				return pier_errf(e, EPROTO, "plan: operation %u: string %u truncated", i, j);
			ops[i].s[j] = body + off;
			ops[i].len[j] = n;
			off += n;
		}
	}
	if (off != len)
		return pier_errf(e, EPROTO, "plan: %zu bytes left over", len - off);
	return 0;
}

void pier_plan_free(struct pier_op *ops, uint32_t nops)
{
	if (ops == NULL)
		return;
	for (uint32_t i = 0; i < nops; i++) {
		free(ops[i].s);
		free(ops[i].len);
	}
	free(ops);
}

/* A text argument: Go ends each with a NUL counted in its length. */
static const char *text(const struct pier_op *op, uint32_t i)
{
	if (i >= op->nstr || op->len[i] == 0 || op->s[i][op->len[i] - 1] != '\0')
		return "";
	return op->s[i];
}

/* Stage: env, with HOME from the container's /etc/passwd when missing. */
static int stage_env(struct cinit *c, struct pier_op *op)
{
	static char home[PIER_MAX_PATH + 8];
	char buf[65536], dir[PIER_MAX_PATH];
	ssize_t n = 0;

	c->envp = op->s;
	if (!op->arg[1])
		return 0;
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO there must not hang us */
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	pier_home_of(buf, (uint32_t)op->arg[0], dir, sizeof(dir));
	snprintf(home, sizeof(home), "HOME=%s", dir);
	op->s[op->nstr] = home;
	op->s[op->nstr + 1] = NULL;
	return 0;
}

static int stage_sync_hooks(struct cinit *c, struct pier_err *e)
{
	struct pier_reply ack;
	int err;

	if (send_msg(c->sock, PIER_MSG_HOOKS, NULL) < 0)
		return pier_errf(e, errno, "send hooks point to runtime");
	if ((err = read_full(c->sock, &ack, sizeof(ack))) != 0)
		return pier_errf(e, err, "wait for the runtime's hooks");
	if (ack.type != PIER_MSG_CONTINUE)
		return pier_errf(e, EPROTO, "wait for the runtime's hooks: message %u", ack.type);
	return 0;
}

static int stage_ready(struct cinit *c, struct pier_err *e)
{
	if (send_msg(c->sock, PIER_MSG_READY, NULL) < 0)
		return pier_errf(e, errno, "send ready to runtime");
	close(c->sock);
	c->sock = -1;
	c->ready = 1;
	return 0;
}

static void stage_exec(struct cinit *c) __attribute__((noreturn));
static void stage_exec(struct cinit *c)
{
	struct pier_err e;

	mark(c, "execve", c->path);
	execve(c->path, c->argv, c->envp);
	pier_errf(&e, errno, "exec %.200s", c->path);
	die(c, &e, errno == ENOENT ? 127 : 126);
}

/* Stage: one mount of the config. arg1 says how: 0 a new mount, 1 a bind,
 * 2 a cgroup2 mount that, where the kernel refuses a fresh one (no cgroup
 * namespace to mount it in), binds the host's tree instead, as runc does. */
static int stage_mount(const struct pier_op *op, struct pier_err *e)
{
	const char *root = text(op, 0), *dst = text(op, 2);
	unsigned long flags = op->arg[0];
	int err = pier_mount_in_root(root, text(op, 1), dst, text(op, 3), text(op, 4), flags, op->arg[1] == 1, e);

	if (op->arg[1] != 2 || (err != EPERM && err != EBUSY))
		return err;
	err = pier_mount_in_root(root, "/sys/fs/cgroup", dst, "", "", flags | MS_BIND | MS_REC, 1, e);
	if (err || !(flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT)))
		return err;
	return pier_remount_in_root(root, dst, MS_BIND | MS_REMOUNT | (flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT)), e);
}

static int run_fs(struct cinit *c, struct pier_op *op, struct pier_err *e)
{
	const uint64_t *a = op->arg;

	switch (op->op) {
	case PIER_OP_MOUNT:
		return pier_mount_path(text(op, 0), text(op, 1), text(op, 2), a[0], text(op, 3), e);
	case PIER_OP_MOUNT_IN_ROOT:
		return stage_mount(op, e);
	case PIER_OP_REMOUNT_IN_ROOT:
		return pier_remount_in_root(text(op, 0), text(op, 1), a[0], e);
	case PIER_OP_PROPAGATE_IN_ROOT:
		return pier_propagate_in_root(text(op, 0), text(op, 1), a[0], e);
	case PIER_OP_SETATTR_IN_ROOT:
		return pier_setattr_in_root(text(op, 0), text(op, 1), a[0], a[1], e);
	case PIER_OP_MKNOD_IN_ROOT:
		return pier_mknod_in_root(text(op, 0), text(op, 1), (mode_t)a[0], (dev_t)a[1], (uid_t)a[2], (gid_t)a[3], e);
	case PIER_OP_SYMLINK_IN_ROOT:
		if (*text(op, 3) && access(text(op, 3), F_OK) < 0)
			return 0;
		return pier_symlink_in_root(text(op, 0), text(op, 1), text(op, 2), (int)a[0], e);
	case PIER_OP_MKDIR_IN_ROOT: {
		int fd, err = pier_mkdir_in_root(text(op, 0), text(op, 1), (mode_t)a[0], &fd, e);
		if (!err)
			close(fd);
		return err;
	}
	case PIER_OP_PIVOT:
		return pier_pivot(text(op, 0), (int)a[0], e);
	case PIER_OP_READONLY:
		return pier_readonly(text(op, 0), e);
	case PIER_OP_MASK:
		if (c->devnull < 0) {
			int err = pier_open_devnull("/", &c->devnull, e);
			if (err)
				return err;
		}
		return pier_mask(text(op, 0), c->devnull, e);
	case PIER_OP_REMOUNT_KEEPING:
		return pier_remount_keeping(text(op, 0), a[0], e);
	case PIER_OP_PROC_CLONE: {
		/* A private copy of the container's procfs for the sysctls,
		 * taken before the masks: nothing mounted later reaches it. */
		int proc, err = pier_open_proc("/proc", &proc, e);
		if (err)
			return pier_errf(e, err, "linux.sysctl: the container's /proc: %.180s", e->text);
		c->proc = (int)syscall(SYS_open_tree, proc, "", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC | AT_EMPTY_PATH);
		close(proc);
		return c->proc < 0 ? pier_errf(e, errno, "linux.sysctl: clone /proc") : 0;
	}
	case PIER_OP_SYSCTL:
		if (pier_write_proc(c->proc, text(op, 0), text(op, 1), e))
			return pier_errf(e, e->err, "linux.sysctl[%.40s]: %.180s", text(op, 2), e->text);
		return 0;
	}
	return pier_errf(e, EPROTO, "plan: unknown operation %u", op->op);
}

static int run_op(struct cinit *c, struct pier_op *op, struct pier_err *e)
{
	const uint64_t *a = op->arg;
	int fd;

	switch (op->op) {
	case PIER_OP_CGROUPNS_JOIN:
		fd = (int)a[0];
		if (setns(fd, CLONE_NEWCGROUP) < 0)
			return pier_errf(e, errno, "setns cgroup namespace");
		close(fd);
		return 0;
	case PIER_OP_CGROUPNS_NEW:
		return unshare(CLONE_NEWCGROUP) < 0 ? pier_errf(e, errno, "unshare cgroup namespace") : 0;
	case PIER_OP_SETSID:
		return setsid() < 0 ? pier_errf(e, errno, "setsid") : 0;
	case PIER_OP_KEYRING:
		if (syscall(SYS_keyctl, PIER_KEYCTL_JOIN_SESSION_KEYRING, text(op, 0)) < 0 && errno != ENOSYS)
			return pier_errf(e, errno, "join session keyring");
		return 0;
	case PIER_OP_OOM_SCORE: {
		int proc, err = pier_open_proc("/proc", &proc, e);
		if (!err) {
			err = pier_write_proc(proc, "self/oom_score_adj", text(op, 0), e);
			close(proc);
		}
		if (err == EACCES || err == EPERM)
			return pier_errf(e, err, "process.oomScoreAdj %s: lowering it needs CAP_SYS_RESOURCE", text(op, 0));
		return err ? pier_errf(e, err, "process.oomScoreAdj %s: %.180s", text(op, 0), e->text) : 0;
	}
	case PIER_OP_HOSTNAME:
		return sethostname(text(op, 0), strlen(text(op, 0))) < 0 ? pier_errf(e, errno, "sethostname %s", text(op, 0)) : 0;
	case PIER_OP_DOMAINNAME:
		return setdomainname(text(op, 0), strlen(text(op, 0))) < 0 ? pier_errf(e, errno, "setdomainname %s", text(op, 0)) : 0;
	case PIER_OP_SYNC_HOOKS:
		return stage_sync_hooks(c, e);
	case PIER_OP_CHDIR:
		return stage_chdir(text(op, 0), e);
	case PIER_OP_ARGS:
		c->argv = op->s;
		return 0;
	case PIER_OP_ENV:
		return stage_env(c, op);
	case PIER_OP_LOOKPATH:
		return pier_lookpath(c->argv && c->argv[0] ? c->argv[0] : "", text(op, 0), c->path, sizeof(c->path), e);
	case PIER_OP_READY:
		if (c->devnull >= 0)
			close(c->devnull);
		if (c->proc >= 0)
			close(c->proc);
		c->devnull = c->proc = -1;
		return stage_ready(c, e);
	case PIER_OP_WAIT_FIFO:
		return stage_wait_fifo((int)a[0], e);
	case PIER_OP_CLOSE_FROM:
		return stage_close_from((int)a[0], e);
	case PIER_OP_RLIMIT:
		return stage_rlimit(op, e);
	case PIER_OP_SECCOMP:
		return stage_seccomp(op, e);
	case PIER_OP_CAPBSET:
		return stage_capbset(a[0], (int)a[1], e);
	case PIER_OP_USER:
		return stage_user(op, e);
	case PIER_OP_CAPSET:
		return stage_capset(a, e);
	case PIER_OP_NNP:
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? pier_errf(e, errno, "prctl no_new_privs") : 0;
	case PIER_OP_UMASK:
		umask((mode_t)a[0]);
		return 0;
	case PIER_OP_PERSONALITY:
		return personality((unsigned long)a[0]) < 0 ? pier_errf(e, errno, "personality %#llx", (unsigned long long)a[0]) : 0;
	case PIER_OP_EXEC:
		stage_exec(c);
	}
	return run_fs(c, op, e);
}

static const char *op_names[PIER_OP_MAX + 1] = {
	"?", "cgroupns join", "cgroupns new", "setsid", "keyring", "oom_score_adj", "mount", "mount", "remount",
	"propagation", "mount_setattr", "mknod", "symlink", "mkdir", "hostname", "domainname", "hooks point",
	"pivot_root", "readonly", "mask", "remount", "procfs clone", "sysctl", "chdir", "args", "env", "lookpath",
	"ready", "exec fifo released", "fds", "rlimit", "seccomp", "bounding set", "user", "capset",
	"no_new_privs", "umask", "personality", "execve",
};

/* What the timeline names an operation by: its target. */
static const char *op_label(const struct pier_op *op)
{
	switch (op->op) {
	case PIER_OP_MOUNT: /* "/", or the rootfs, which is no name to group runs by */
		return strcmp(text(op, 1), "/") == 0 ? "/" : "(rootfs)";
	case PIER_OP_REMOUNT_IN_ROOT:
	case PIER_OP_PROPAGATE_IN_ROOT:
	case PIER_OP_SETATTR_IN_ROOT:
	case PIER_OP_MKNOD_IN_ROOT:
	case PIER_OP_SYMLINK_IN_ROOT:
	case PIER_OP_MKDIR_IN_ROOT:
		return text(op, 1);
	case PIER_OP_MOUNT_IN_ROOT:
		return text(op, 2);
	case PIER_OP_READONLY:
	case PIER_OP_MASK:
	case PIER_OP_SYSCTL:
		return text(op, 0);
	}
	return NULL;
}

void pier_cinit(int sock, int tracefd)
{
	struct cinit c = { .sock = sock, .tracefd = tracefd, .devnull = -1, .proc = -1 };
	struct pier_plan_hdr h;
	struct pier_op *ops = NULL;
	struct pier_err e = { 0 };
	char *body;
	int err;

	mark(&c, "start", NULL);
	if ((err = read_full(sock, &h, sizeof(h))) != 0)
		pier_errf(&e, err, "read plan header"), die(&c, &e, 1);
	if (h.magic != PIER_PLAN_MAGIC || h.version != PIER_PLAN_VERSION || h.len > PIER_PLAN_MAX)
		pier_errf(&e, EPROTO, "plan: bad magic, version or size"), die(&c, &e, 1);
	body = malloc(h.len ? h.len : 1);
	if (body == NULL)
		pier_errf(&e, ENOMEM, "plan: %u bytes", h.len), die(&c, &e, 1);
	if ((err = read_full(sock, body, h.len)) != 0)
		pier_errf(&e, err, "read plan"), die(&c, &e, 1);
	if (pier_plan_parse(body, h.len, h.nops, &ops, &e) != 0)
		die(&c, &e, 1);
	mark(&c, "plan read", NULL);
	for (uint32_t i = 0; i < h.nops; i++) {
		if (run_op(&c, &ops[i], &e) != 0)
			die(&c, &e, 1);
		if (tracefd >= 0 && ops[i].op != PIER_OP_ARGS && ops[i].op != PIER_OP_ENV)
			mark(&c, op_names[ops[i].op], op_label(&ops[i]));
	}
	pier_errf(&e, EPROTO, "plan: ends without execve");
	die(&c, &e, 1);
}
