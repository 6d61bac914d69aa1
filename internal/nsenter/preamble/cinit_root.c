/*
 * The C init's stages after the pivot (cinit_fs.c has those before it and
 * explains the hardening both keep): pivot_root, the readonly and masked
 * paths with the checked /dev/null, and procfs writes beneath a checked
 * procfs root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cinit.h"

/* pivot_root(".", "."): the old root is stacked on the new one, made a
 * slave (its unmount must not reach the host) and detached. */
static int pivot_root_dot(const char *rootfs, struct pier_err *e)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC), newroot, err = 0;

	if (oldroot < 0)
		return pier_errf(e, errno, "open /");
	newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (newroot < 0)
		err = pier_errf(e, errno, "open %.200s", rootfs);
	else if (fchdir(newroot) < 0)
		err = pier_errf(e, errno, "chdir %.200s", rootfs);
	else if (syscall(SYS_pivot_root, ".", ".") < 0)
		err = pier_errf(e, errno, "pivot_root %.200s", rootfs);
	else if (fchdir(oldroot) < 0)
		err = pier_errf(e, errno, "chdir old root");
	else if (pier_mount_retry("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		err = pier_errf(e, errno, "mount none on . (propagation)");
	else if (umount2(".", MNT_DETACH) < 0)
		err = pier_errf(e, errno, "umount old root");
	else if (chdir("/") < 0)
		err = pier_errf(e, errno, "chdir /");
	if (newroot >= 0)
		close(newroot);
	close(oldroot);
	return err;
}

int pier_pivot(const char *rootfs, int kind, struct pier_err *e)
{
	if (kind == PIER_PIVOT_ROOT)
		return pivot_root_dot(rootfs, e);
	if (kind == PIER_PIVOT_MOVE) {
		if (chdir(rootfs) < 0)
			return pier_errf(e, errno, "chdir %.200s", rootfs);
		if (pier_mount_retry(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return pier_errf(e, errno, "mount %.200s on / (move)", rootfs);
		if (chroot(".") < 0)
			return pier_errf(e, errno, "chroot %.200s", rootfs);
	} else if (chroot(rootfs) < 0) {
		return pier_errf(e, errno, "chroot %.200s", rootfs);
	}
	if (chdir("/") < 0)
		return pier_errf(e, errno, "chdir /");
	return 0;
}

int pier_remount_keeping(const char *path, unsigned long extra, struct pier_err *e)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return pier_errf(e, errno, "statfs %.200s", path);
	if (pier_mount_retry("", path, NULL, MS_BIND | MS_REMOUNT | extra | pier_locked_flags(sfs.f_flags), NULL) < 0)
		return pier_errf(e, errno, "mount none on %.200s (remount)", path);
	return 0;
}

/* Step: a readonlyPaths entry, after the pivot; missing paths are skipped. */
int pier_readonly(const char *path, struct pier_err *e)
{
	if (pier_mount_retry(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return pier_errf(e, errno, "mount %.100s on %.100s (bind)", path, path);
	}
	return pier_remount_keeping(path, MS_RDONLY, e);
}

int pier_open_devnull(const char *root, int *fd, struct pier_err *e)
{
	char what[48];
	struct stat st;
	int rootfd = pier_open_dir(root, e);

	if (rootfd < 0)
		return e->err;
	*fd = pier_openat2(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, 0,
			    PIER_RESOLVE_IN_ROOT | PIER_RESOLVE_NO_SYMLINKS | PIER_RESOLVE_NO_MAGICLINKS);
	close(rootfd);
	if (*fd < 0)
		return pier_errf(e, errno, "maskedPaths: /dev/null: open /dev/null in %.100s", root);
	if (fstat(*fd, &st) < 0) {
		close(*fd);
		return pier_errf(e, errno, "maskedPaths: fstat /dev/null");
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
		close(*fd);
		return pier_errf(e, EPERM, "maskedPaths: the container's /dev/null is %s, not the null device (character 1:3); refusing to bind it over masked paths",
				 pier_describe(&st, what, sizeof(what)));
	}
	return 0;
}

/* Step: a maskedPaths entry, after the pivot: a read-only tmpfs over a
 * directory, the checked /dev/null over anything else, bound from its
 * descriptor onto the target's. Missing paths are skipped. */
int pier_mask(const char *path, int devnull, struct pier_err *e)
{
	char target[64];
	struct stat st;
	int fd, tree, err, rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return pier_errf(e, errno, "mask %.200s: open /", path);
	fd = pier_in_root(rootfd, path, O_PATH, 0);
	err = errno;
	close(rootfd);
	if (fd < 0)
		return err == ENOENT ? 0 : pier_errf(e, err, "mask %.200s", path);
	err = 0;
	if (fstat(fd, &st) < 0) {
		err = pier_errf(e, errno, "mask %.200s: fstat", path);
	} else if (S_ISDIR(st.st_mode)) {
		snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
		if (access("/proc/self/fd", F_OK) < 0)
			snprintf(target, sizeof(target), "%.63s", path);
		if (pier_mount_retry("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0)
			err = pier_errf(e, errno, "mount tmpfs on %.200s (tmpfs)", path);
	} else {
		tree = (int)syscall(SYS_open_tree, devnull, "", PIER_OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0 || syscall(SYS_move_mount, tree, "", fd, "",
					PIER_MOVE_MOUNT_F_EMPTY_PATH | PIER_MOVE_MOUNT_T_EMPTY_PATH) < 0)
			err = pier_errf(e, errno, "mask %.200s: bind /dev/null", path);
		if (tree >= 0)
			close(tree);
	}
	close(fd);
	return err;
}

static int check_proc(int fd, int root)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(fd, &sfs) < 0)
		return errno;
	if (sfs.f_type != PIER_PROC_SUPER_MAGIC)
		return EXDEV;
	if (root && (fstat(fd, &st) < 0 || st.st_ino != 1))
		return EXDEV;
	return 0;
}

int pier_open_proc(const char *dir, int *fd, struct pier_err *e)
{
	int err;

	*fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return pier_errf(e, errno, "open %.200s", dir);
	if ((err = check_proc(*fd, 1)) != 0) {
		close(*fd);
		return pier_errf(e, err, "%.200s: not the root of a procfs", dir);
	}
	return 0;
}

int pier_write_proc(int proc, const char *name, const char *value, struct pier_err *e)
{
	size_t len = strlen(value);
	int err, fd = pier_openat2(proc, name, O_WRONLY | O_NOFOLLOW, 0,
				    PIER_RESOLVE_BENEATH | PIER_RESOLVE_NO_XDEV | PIER_RESOLVE_NO_MAGICLINKS);

	if (fd < 0)
		return pier_errf(e, errno, "open %.200s in procfs", name);
	if ((err = check_proc(fd, 0)) != 0)
		pier_errf(e, err, "open %.200s in procfs: not procfs", name);
	else if (write(fd, value, len) != (ssize_t)len)
		err = pier_errf(e, errno, "write /proc/%.200s", name);
	close(fd);
	return err;
}
