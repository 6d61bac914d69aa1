/*
 * The C init's process stages (cinit.c runs them from the plan): HOME and
 * the PATH search, the cwd, the exec fifo, descriptors, rlimits, seccomp,
 * the bounding set, the user and groups, capabilities.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cinit.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define PIER_CLOSE_RANGE_CLOEXEC 4
#define PIER_SECCOMP_SET_MODE_FILTER 1
#define PIER_CAP_V3 0x20080522
#define PIER_AMBIENT 47
#define PIER_AMBIENT_RAISE 2
#define PIER_AMBIENT_CLEAR_ALL 4

void pier_home_of(const char *passwd, uint32_t uid, char *home, size_t size)
{
	char want[16];
	const char *line = passwd;

	snprintf(home, size, "/");
	snprintf(want, sizeof(want), "%u", uid);
	while (line != NULL && *line) {
		const char *end = strchr(line, '\n'), *f[7] = { line };
		size_t nf = 1;
		if (end == NULL)
			end = line + strlen(line);
		for (const char *p = line; p < end && nf < 7; p++)
			if (*p == ':')
				f[nf++] = p + 1;
		if (nf >= 6 && (size_t)(f[3] - f[2] - 1) == strlen(want) && memcmp(f[2], want, strlen(want)) == 0) {
			const char *hend = nf >= 7 ? f[6] - 1 : end;
			snprintf(home, size, "%.*s", (int)(hend - f[5]), f[5]);
			return;
		}
		line = *end ? end + 1 : NULL;
	}
}

static int check_exec(const char *p, struct pier_err *e)
{
	struct stat st;

	if (stat(p, &st) < 0)
		return pier_errf(e, errno, "process.args[0]: stat %.200s", p);
	if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0)
		return pier_errf(e, EACCES, "process.args[0]: %.200s", p);
	return 0;
}

int pier_lookpath(const char *name, const char *path, char *out, size_t size, struct pier_err *e)
{
	struct pier_err ignored;

	if (strchr(name, '/') != NULL) {
		snprintf(out, size, "%s", name);
		return check_exec(name, e);
	}
	for (const char *dir = path;; dir++) {
		const char *end = strchr(dir, ':');
		size_t n = end ? (size_t)(end - dir) : strlen(dir);
		if (n == 0)
			snprintf(out, size, "./%s", name);
		else
			snprintf(out, size, "%.*s/%s", (int)n, dir, name);
		if (check_exec(out, &ignored) == 0)
			return 0;
		if (end == NULL)
			break;
		dir = end;
	}
	return pier_errf(e, ENOENT, "process.args[0]: exec: \"%.150s\": executable file not found in $PATH", name);
}

int stage_chdir(const char *cwd, struct pier_err *e)
{
	char wd[PIER_MAX_PATH];

	if (chdir(cwd) < 0)
		return pier_errf(e, errno, "process.cwd: chdir %.200s", cwd);
	/* A cwd reached through a leaked host fd prints as unreachable
	 * (the CVE-2024-21626 class). */
	if (getcwd(wd, sizeof(wd)) == NULL || wd[0] != '/')
		return pier_errf(e, 0, "process.cwd: %.200s resolves outside the container", cwd);
	return 0;
}

int stage_wait_fifo(int fd, struct pier_err *e)
{
	char b;

	for (;;) {
		ssize_t n = read(fd, &b, 1);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return pier_errf(e, errno, "wait for start: read exec fifo");
	}
}

int stage_close_from(int fd, struct pier_err *e)
{
	if (syscall(SYS_close_range, fd, ~0U, PIER_CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	for (int i = fd; i < 1024; i++) /* before Linux 5.11 */
		if (fcntl(i, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return pier_errf(e, errno, "mark fd %d close-on-exec", i);
	return 0;
}

int stage_rlimit(const struct pier_op *op, struct pier_err *e)
{
	struct rlimit want = { op->arg[1], op->arg[2] }, cur;

	if (setrlimit((int)op->arg[0], &want) == 0)
		return 0;
	if (errno == EPERM && getrlimit((int)op->arg[0], &cur) == 0 && want.rlim_max > cur.rlim_max)
		return pier_errf(e, EPERM, "%s: cannot raise the hard limit from %llu to %llu without CAP_SYS_RESOURCE",
				 (op->nstr ? op->s[0] : ""), (unsigned long long)cur.rlim_max, (unsigned long long)want.rlim_max);
	return pier_errf(e, errno, "%s: setrlimit soft %llu hard %llu", (op->nstr ? op->s[0] : ""), (unsigned long long)want.rlim_cur,
			 (unsigned long long)want.rlim_max);
}

int stage_seccomp(const struct pier_op *op, struct pier_err *e)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(op->len[0] / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)op->s[0],
	};

	if (op->nstr != 1 || op->len[0] % sizeof(struct sock_filter) != 0 || prog.len == 0)
		return pier_errf(e, EINVAL, "linux.seccomp: a program of %u bytes", op->nstr ? op->len[0] : 0);
	if (syscall(SYS_seccomp, PIER_SECCOMP_SET_MODE_FILTER, (unsigned)op->arg[0], &prog) != 0)
		return pier_errf(e, errno, "linux.seccomp: seccomp set mode filter");
	return 0;
}

int stage_capbset(uint64_t keep, int last, struct pier_err *e)
{
	for (int n = 0; n <= last; n++)
		if (!(keep & (1ULL << n)) && prctl(PR_CAPBSET_DROP, n, 0, 0, 0) < 0)
			return pier_errf(e, errno, "prctl PR_CAPBSET_DROP %d", n);
	return 0;
}

/* Stage: the user, per thread (this process has one), keeping the
 * capabilities for capset; not dumpable again after the change. */
int stage_user(const struct pier_op *op, struct pier_err *e)
{
	size_t ngroups = op->nstr ? op->len[0] / 4 : 0;
	gid_t gid = (gid_t)op->arg[1];
	uid_t uid = (uid_t)op->arg[0];

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return pier_errf(e, errno, "prctl keepcaps");
	if (syscall(SYS_setgroups, ngroups, ngroups ? op->s[0] : NULL) < 0 && !(ngroups == 0 && errno == EPERM))
		return pier_errf(e, errno, "process.user.additionalGids: setgroups");
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		return pier_errf(e, errno, "process.user.gid: setresgid %u", gid);
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		return pier_errf(e, errno, "process.user.uid: setresuid %u", uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return pier_errf(e, errno, "prctl keepcaps");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return pier_errf(e, errno, "prctl non-dumpable");
	return 0;
}

int stage_capset(const uint64_t *a, struct pier_err *e)
{
	struct { uint32_t version; int pid; } hdr = { PIER_CAP_V3, 0 };
	struct { uint32_t eff, perm, inh; } data[2];
	uint64_t amb = a[3] & a[1] & a[2];

	for (int i = 0; i < 2; i++) {
		data[i].eff = (uint32_t)(a[0] >> (32 * i));
		data[i].perm = (uint32_t)(a[1] >> (32 * i));
		data[i].inh = (uint32_t)(a[2] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return pier_errf(e, errno, "capset");
	if (prctl(PIER_AMBIENT, PIER_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return (errno == EINVAL && a[3] == 0) ? 0 : pier_errf(e, errno, "prctl PR_CAP_AMBIENT_CLEAR_ALL");
	/* Like the Go init and runc: only what is permitted and inheritable. */
	for (int n = 0; n < 64; n++)
		if ((amb & (1ULL << n)) && prctl(PIER_AMBIENT, PIER_AMBIENT_RAISE, n, 0, 0) < 0)
			return pier_errf(e, errno, "prctl PR_CAP_AMBIENT_RAISE %d", n);
	return 0;
}
