//go:build linux

// Package rootfs builds a container's filesystem inside its new mount
// namespace: the mounts of config.json in order, /dev with its devices and
// links, pivot_root, then masked and read-only paths.
//
// The work is split in two. Plan turns an Options into an ordered list of
// Steps and validates the config on the way; it touches nothing, so it is
// unit-tested unprivileged. Prepare, Pivot, BindConsole and Finish apply
// that plan and are thin. The container init calls them in this order, with
// its OS thread locked, between namespace creation and execve:
//
//	Prepare(o)           / made rslave or rprivate, rootfs bound onto itself, mounts, /dev
//	Pivot(o)             pivot_root (or MS_MOVE + chroot with NoPivot), old root detached
//	BindConsole(slave)   only with a terminal
//	Finish(o)            readonlyPaths, maskedPaths, read-only /, final propagation
//
// Every mount target is created and opened with internal/sys, which never
// follows a symlink out of the rootfs, and mounted through /proc/self/fd/N
// so the object that was checked is the one mounted on (CVE-2021-30465).
// Prepare must only ever run inside a new mount namespace: its first act is
// to change the propagation of /.
package rootfs
