/*
 * cinit.h: the C init's stages (cinit.c, cinit_fs.c), declared once for
 * the executor, the preamble that calls it and cgo's test wrappers
 * (stages.go). Every stage returns 0 or an errno and, on failure, fills a
 * pier_err with what failed, in the words of the config's fields where
 * the runtime's Go init would have used them.
 */
#ifndef PIER_CINIT_H
#define PIER_CINIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsenter.h"

struct pier_err {
	int err;
	char text[PIER_REPLY_TEXT];
};

/* Records errno err and the formatted text; returns err (never 0). */
int pier_errf(struct pier_err *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One parsed operation: s[i] points into the plan's buffer, len[i] bytes
 * (a text's NUL included); s is NULL-terminated, usable as argv. */
struct pier_op {
	uint32_t op;
	uint32_t nstr;
	uint64_t arg[4];
	char **s;
	uint32_t *len;
};

int pier_plan_parse(char *body, size_t len, uint32_t nops, struct pier_op **out, struct pier_err *e);
void pier_plan_free(struct pier_op *ops, uint32_t nops);

/* The C init proper: reads the plan from sock and runs it; never returns. */
void pier_cinit(int sock, int tracefd) __attribute__((noreturn));

/* Filesystem stages (cinit_fs.c). root is a host path resolved as
 * chroot(root) would, with openat2(RESOLVE_IN_ROOT): "..", absolute and
 * relative symlinks never lead out of it, magic links are refused. */
int pier_open_in_root(const char *root, const char *path, int flags, int *fd, struct pier_err *e);
int pier_mkdir_in_root(const char *root, const char *path, mode_t mode, int *fd, struct pier_err *e);
int pier_mkfile_in_root(const char *root, const char *path, mode_t mode, int *fd, struct pier_err *e);
int pier_mount_in_root(const char *root, const char *src, const char *dst, const char *type, const char *data,
		       unsigned long flags, int bind, struct pier_err *e);
int pier_remount_in_root(const char *root, const char *dst, unsigned long flags, struct pier_err *e);
int pier_propagate_in_root(const char *root, const char *dst, unsigned long flags, struct pier_err *e);
int pier_setattr_in_root(const char *root, const char *dst, uint64_t set, uint64_t clr, struct pier_err *e);
int pier_mknod_in_root(const char *root, const char *path, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
		       struct pier_err *e);
int pier_symlink_in_root(const char *root, const char *path, const char *target, int replace, struct pier_err *e);
int pier_mount_path(const char *src, const char *target, const char *type, unsigned long flags, const char *data,
		    struct pier_err *e);
int pier_pivot(const char *rootfs, int kind, struct pier_err *e);
int pier_readonly(const char *path, struct pier_err *e);
int pier_remount_keeping(const char *path, unsigned long extra, struct pier_err *e);
/* The null device at root's /dev/null, reached through no symlink and
 * checked to be character 1:3, opened O_PATH into *fd. */
int pier_open_devnull(const char *root, int *fd, struct pier_err *e);
int pier_mask(const char *path, int devnull, struct pier_err *e);
/* dir opened O_PATH and checked to be the root of a procfs. */
int pier_open_proc(const char *dir, int *fd, struct pier_err *e);
/* name beneath a verified procfs, never crossing a mount, written. */
int pier_write_proc(int proc, const char *name, const char *value, struct pier_err *e);

/* Process stages (cinit.c). */
/* HOME from an /etc/passwd text for uid, into home (size bytes); "/" when absent. */
void pier_home_of(const char *passwd, uint32_t uid, char *home, size_t size);
/* execvp's search: name with a '/' is checked as it is, else each PATH dir. */
int pier_lookpath(const char *name, const char *path, char *out, size_t size, struct pier_err *e);

/* Process stages (cinit_proc.c), run by cinit.c's executor. */
int stage_chdir(const char *cwd, struct pier_err *e);
int stage_wait_fifo(int fd, struct pier_err *e);
int stage_close_from(int fd, struct pier_err *e);
int stage_rlimit(const struct pier_op *op, struct pier_err *e);
int stage_seccomp(const struct pier_op *op, struct pier_err *e);
int stage_capbset(uint64_t keep, int last, struct pier_err *e);
int stage_user(const struct pier_op *op, struct pier_err *e);
int stage_capset(const uint64_t *a, struct pier_err *e);

/* Shared by the filesystem stages (cinit_fs.c, cinit_root.c). */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define PIER_SYS_fchmodat2 452
#define PIER_RESOLVE_NO_XDEV 0x01
#define PIER_RESOLVE_NO_MAGICLINKS 0x02
#define PIER_RESOLVE_NO_SYMLINKS 0x04
#define PIER_RESOLVE_BENEATH 0x08
#define PIER_RESOLVE_IN_ROOT 0x10
#define PIER_OPEN_TREE_CLONE 1
#define PIER_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define PIER_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define PIER_AT_RECURSIVE 0x8000
#define PIER_PROC_SUPER_MAGIC 0x9fa0

struct pier_open_how {
	uint64_t flags, mode, resolve;
};

struct pier_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
struct stat;
int pier_openat2(int dir, const char *path, int flags, mode_t mode, uint64_t resolve);
int pier_open_dir(const char *root, struct pier_err *e);
int pier_in_root(int rootfd, const char *path, int flags, mode_t mode);
int pier_mount_retry(const char *src, const char *target, const char *type, unsigned long flags, const char *data);
unsigned long pier_locked_flags(long f);
const char *pier_describe(const struct stat *st, char *buf, size_t size);

#endif
