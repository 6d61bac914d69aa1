/*
 * The C init's filesystem stages before the pivot: the mounts, devices and
 * links of a container (cinit_root.c has pivot_root, the masks and procfs
 * writes), with the hardening of the Go code they replace (internal/rootfs,
 * internal/sys), in both files:
 *
 * - every target inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT
 *   | RESOLVE_NO_MAGICLINKS) and mounted on through its descriptor
 *   (/proc/self/fd/N), so a symlink swapped in cannot move a mount out of
 *   the rootfs (the CVE-2021-30465 class);
 * - device nodes are chmod'ed and chown'ed through a descriptor checked to
 *   be the node mknod made;
 * - masks bind a /dev/null reached through no symlink and checked to be
 *   the null device (CVE-2025-31133), by open_tree/move_mount;
 * - procfs writes go beneath a directory checked to be a procfs root,
 *   never crossing a mount (CVE-2025-52881).
 *
 * The runtime only chooses this path on kernels with openat2, open_tree
 * and move_mount (Linux >= 5.6); older ones get the Go init.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cinit.h"

int pier_openat2(int dir, const char *path, int flags, mode_t mode, uint64_t resolve)
{
	struct pier_open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .mode = mode, .resolve = resolve };

	for (;;) {
		long fd = syscall(SYS_openat2, dir, path, &how, sizeof(how));
		if (fd >= 0 || (errno != EINTR && errno != EAGAIN))
			return (int)fd;
	}
}

int pier_open_dir(const char *root, struct pier_err *e)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		pier_errf(e, errno, "open root %.200s", root);
	return fd;
}

int pier_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	return pier_openat2(rootfd, path, flags, mode, PIER_RESOLVE_IN_ROOT | PIER_RESOLVE_NO_MAGICLINKS);
}

int pier_open_in_root(const char *root, const char *path, int flags, int *fd, struct pier_err *e)
{
	int rootfd = pier_open_dir(root, e);

	if (rootfd < 0)
		return e->err;
	*fd = pier_in_root(rootfd, path, flags, 0);
	close(rootfd);
	if (*fd < 0)
		return pier_errf(e, errno, "open %.150s in %.80s", path, root);
	return 0;
}

/* mkdir -p inside rootfd: the existing part is resolved (symlinks staying
 * inside), each missing component is made with mkdirat on the descriptor
 * of its resolved parent. */
static int mkdir_all(int rootfd, const char *path, mode_t mode)
{
	char buf[PIER_MAX_PATH];
	int parent, fd;
	size_t n = strlen(path);

	fd = pier_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (n >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	for (size_t i = 0; parent >= 0 && i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char save = buf[i];
		size_t start = i;
		while (start > 0 && buf[start - 1] != '/')
			start--;
		if (start == i) /* an empty component: "//" or the leading "/" */
			continue;
		buf[i] = '\0';
		fd = pier_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(parent, buf + start, mode) < 0 && errno != EEXIST) {
				int err = errno;
				close(parent);
				errno = err;
				return -1;
			}
			fd = pier_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		}
		buf[i] = save;
		close(parent);
		parent = fd;
	}
	return parent;
}

int pier_mkdir_in_root(const char *root, const char *path, mode_t mode, int *fd, struct pier_err *e)
{
	int rootfd = pier_open_dir(root, e);

	if (rootfd < 0)
		return e->err;
	*fd = mkdir_all(rootfd, path, mode);
	close(rootfd);
	if (*fd < 0)
		return pier_errf(e, errno, "mkdir %.150s in %.80s", path, root);
	return 0;
}

/* The object at path, made an empty file (parents as directories) when
 * missing; a dangling symlink gets its target made, inside the root. */
static int mkfile_depth(int rootfd, const char *path, mode_t mode, int depth);

/* path's last component is a dangling symlink: make its target instead,
 * a relative one against path's directory (still inside the root). */
static int mkfile_link(int rootfd, const char *path, mode_t mode, int depth)
{
	char link[PIER_MAX_PATH], target[PIER_MAX_PATH];
	const char *slash = strrchr(path, '/');
	int fd = pier_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = readlinkat(fd, "", link, sizeof(link) - 1);
	close(fd);
	if (n < 0 || depth >= 40) {
		errno = n < 0 ? ENOENT : ELOOP;
		return -1;
	}
	link[n] = '\0';
	if (link[0] == '/' || slash == NULL)
		n = snprintf(target, sizeof(target), "%s", link);
	else
		n = snprintf(target, sizeof(target), "%.*s/%s", (int)(slash - path), path, link);
	if (n < 0 || (size_t)n >= sizeof(target)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkfile_depth(rootfd, target, mode, depth + 1) < 0)
		return -1;
	return pier_in_root(rootfd, path, O_PATH, 0);
}

static int mkfile(int rootfd, const char *path, mode_t mode)
{
	return mkfile_depth(rootfd, path, mode, 0);
}

static int mkfile_depth(int rootfd, const char *path, mode_t mode, int depth)
{
	char dir[PIER_MAX_PATH];
	const char *slash = strrchr(path, '/');
	int fd = pier_in_root(rootfd, path, O_PATH, 0);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (slash != NULL && slash != path) {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
		int p = mkdir_all(rootfd, dir, 0755);
		if (p < 0)
			return -1;
		close(p);
	}
	/* O_EXCL: never open what is there (a FIFO planted in a shared volume
	 * would block an O_WRONLY open); a name that exists now is either a
	 * dangling symlink or a racing creator's file. */
	fd = pier_in_root(rootfd, path, O_CREAT | O_EXCL | O_WRONLY, mode);
	if (fd >= 0) {
		close(fd);
		return pier_in_root(rootfd, path, O_PATH, 0);
	}
	if (errno != EEXIST)
		return -1;
	fd = pier_in_root(rootfd, path, O_PATH, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	return mkfile_link(rootfd, path, mode, depth);
}

int pier_mkfile_in_root(const char *root, const char *path, mode_t mode, int *fd, struct pier_err *e)
{
	int rootfd = pier_open_dir(root, e);

	if (rootfd < 0)
		return e->err;
	*fd = mkfile(rootfd, path, mode);
	close(rootfd);
	if (*fd < 0)
		return pier_errf(e, errno, "create %.150s in %.80s", path, root);
	return 0;
}

int pier_mount_retry(const char *src, const char *target, const char *type, unsigned long flags, const char *data)
{
	int r;

	do
		r = mount(src, target, type, flags, data);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Step: one of the config's mounts, on its target inside the rootfs. */
int pier_mount_in_root(const char *root, const char *src, const char *dst, const char *type, const char *data,
		       unsigned long flags, int bind, struct pier_err *e)
{
	char target[64];
	struct stat st;
	int fd, err, dir = 1;

	if (bind) {
		if (stat(src, &st) < 0)
			return pier_errf(e, errno, "mount %.120s on %.120s (bind)", src, dst);
		dir = S_ISDIR(st.st_mode);
	}
	err = dir ? pier_mkdir_in_root(root, dst, 0755, &fd, e) : pier_mkfile_in_root(root, dst, 0644, &fd, e);
	if (err)
		return err;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (pier_mount_retry(src, target, bind ? NULL : type, flags, *data ? data : NULL) < 0)
		err = pier_errf(e, errno, "mount %.120s on %.120s (%s)", *src ? src : "none", dst, bind ? "bind" : type);
	close(fd);
	return err;
}

/* The flags of a mount a user namespace locked (or a remount must keep). */
unsigned long pier_locked_flags(long f)
{
	static const struct { long st; unsigned long ms; } m[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	unsigned long out = 0;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (f & m[i].st)
			out |= m[i].ms;
	return out;
}

/* After a bind: its flags, which the first mount(2) ignored. On EPERM
 * (flags the source's mount was locked with) again keeping them. */
int pier_remount_in_root(const char *root, const char *dst, unsigned long flags, struct pier_err *e)
{
	char target[64];
	struct statfs sfs;
	int fd, err = pier_open_in_root(root, dst, O_PATH, &fd, e);

	if (err)
		return err;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (pier_mount_retry("", target, NULL, flags, NULL) < 0) {
		err = errno;
		if (err == EPERM && fstatfs(fd, &sfs) == 0 &&
		    pier_mount_retry("", target, NULL, flags | (pier_locked_flags(sfs.f_flags) & ~MS_RDONLY), NULL) == 0)
			err = 0;
		if (err)
			pier_errf(e, err, "mount none on %.200s (remount)", dst);
	}
	close(fd);
	return err;
}

int pier_propagate_in_root(const char *root, const char *dst, unsigned long flags, struct pier_err *e)
{
	char target[64];
	int fd, err = pier_open_in_root(root, dst, O_PATH, &fd, e);

	if (err)
		return err;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (pier_mount_retry("", target, NULL, flags, NULL) < 0)
		err = pier_errf(e, errno, "mount none on %.200s (propagation)", dst);
	close(fd);
	return err;
}

/* Recursive attributes of the mount at dst and everything under it, in one
 * call (rro and friends; the cgroup tree's read-only in one go). */
int pier_setattr_in_root(const char *root, const char *dst, uint64_t set, uint64_t clr, struct pier_err *e)
{
	struct pier_mount_attr attr = { .attr_set = set, .attr_clr = clr };
	int fd, err = pier_open_in_root(root, dst, O_PATH, &fd, e);

	if (err)
		return err;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | PIER_AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		err = pier_errf(e, errno, "mount_setattr %.200s", dst);
	close(fd);
	return err;
}

const char *pier_describe(const struct stat *st, char *buf, size_t size)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFLNK: return "a symlink";
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFCHR:
		snprintf(buf, size, "character device %u:%u", major(st->st_rdev), minor(st->st_rdev));
		return buf;
	case S_IFBLK:
		snprintf(buf, size, "block device %u:%u", major(st->st_rdev), minor(st->st_rdev));
		return buf;
	}
	return "a file of another type";
}

static int chmod_fd(int fd, mode_t mode)
{
	char p[64];

	if (syscall(PIER_SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return chmod(p, mode);
}

/* Step: a device node. Its mode and owner are set through a descriptor of
 * the node, checked to be what mknod made: a /dev shared with another
 * container can swap the name for a symlink to a host file in between. */
int pier_mknod_in_root(const char *root, const char *path, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
		       struct pier_err *e)
{
	char dir[PIER_MAX_PATH], what[48];
	const char *base = strrchr(path, '/');
	struct stat st;
	int parent, fd, err;
	size_t n;

	if (base == NULL)
		return pier_errf(e, EINVAL, "device %.200s: not absolute", path);
	n = (size_t)(base - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	base++;
	if ((err = pier_mkdir_in_root(root, n ? dir : "/", 0755, &parent, e)) != 0)
		return err;
	if (mknodat(parent, base, mode, dev) < 0) {
		err = errno;
		close(parent);
		if (err == EEXIST)
			return 0;
		return pier_errf(e, err, "mknod %.200s (%u:%u)", path, major(dev), minor(dev));
	}
	fd = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(parent);
	if (fd < 0)
		return pier_errf(e, errno, "open %.200s after mknod", path);
	if (fstat(fd, &st) < 0)
		err = pier_errf(e, errno, "fstat %.200s", path);
	else if ((st.st_mode & S_IFMT) != (mode & S_IFMT) || (!S_ISFIFO(mode) && st.st_rdev != dev))
		err = pier_errf(e, EEXIST, "%.200s was replaced by %s while it was being made; refusing to chmod it",
				path, pier_describe(&st, what, sizeof(what)));
	else if (chmod_fd(fd, mode & 07777) < 0)
		err = pier_errf(e, errno, "chmod %.200s", path);
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		err = pier_errf(e, errno, "chown %.200s", path);
	close(fd);
	return err;
}

int pier_symlink_in_root(const char *root, const char *path, const char *target, int replace, struct pier_err *e)
{
	char dir[PIER_MAX_PATH];
	const char *base = strrchr(path, '/');
	int parent, err;
	size_t n;

	if (base == NULL)
		return pier_errf(e, EINVAL, "symlink %.200s: not absolute", path);
	n = (size_t)(base - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	base++;
	if ((err = pier_mkdir_in_root(root, n ? dir : "/", 0755, &parent, e)) != 0)
		return err;
	if (replace && unlinkat(parent, base, 0) < 0 && errno != ENOENT)
		err = pier_errf(e, errno, "remove %.200s", path);
	else if (symlinkat(target, parent, base) < 0 && errno != EEXIST)
		err = pier_errf(e, errno, "symlink %.150s -> %.100s", path, target);
	close(parent);
	return err;
}

int pier_mount_path(const char *src, const char *target, const char *type, unsigned long flags, const char *data,
		    struct pier_err *e)
{
	if (pier_mount_retry(src, target, *type ? type : NULL, flags, *data ? data : NULL) < 0)
		return pier_errf(e, errno, "mount %.100s on %.150s (%s)", *src ? src : "none", target,
				 *type ? type : (flags & MS_REMOUNT ? "remount" : flags & MS_BIND ? "bind" : "propagation"));
	return 0;
}

