package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// privateParent makes the mount that holds rootfs private in this (the
// container's) mount namespace. With / shared, that mount may be a peer of
// the host's, and the bind of the rootfs onto itself, and every mount
// under it, would then appear on the host too. Private, it is the wall:
// mounts below it propagate nowhere, while a bind of a shared host path
// made under it still joins that path's peer group (the point of a shared
// root). pivot_root also refuses a shared parent. Only this namespace's
// copy changes; the host's mount keeps its propagation.
func privateParent(rootfs string) error {
	mp, err := HoldingMount(rootfs)
	if err != nil {
		return err
	}
	return mount("", mp, "", unix.MS_PRIVATE, "")
}

// HoldingMount is the mount point of the mount that holds rootfs (rootfs
// itself when it is one), which a shared root makes private before the
// rootfs is bound (see privateParent). A new mount namespace starts as a
// copy of its creator's, so the C init's planner, still in pier-runtime's
// namespace, finds the same mount point.
func HoldingMount(rootfs string) (string, error) {
	abs, err := filepath.Abs(rootfs) // root.path may be relative to the bundle
	if err != nil {
		return "", fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("rootfs propagation: %w", err)
	}
	mp := mountPointOf(parseMountinfo(string(mi)), real)
	if mp == "" {
		return "", fmt.Errorf("rootfs %s: no mount holds it in /proc/self/mountinfo", real)
	}
	return mp, nil
}

// mountPointOf is the deepest mount point at or above p.
func mountPointOf(mounts []mountEntry, p string) string {
	best := ""
	for _, m := range mounts {
		mp := m.Mountpoint
		if (p == mp || mp == "/" || strings.HasPrefix(p, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

// HasMountSetattr says the kernel has mount_setattr(2) (5.12), which the
// recursive attributes ("rro" and the like) need.
var HasMountSetattr = sync.OnceValue(func() bool {
	return unix.MountSetattr(-1, "", 0, &unix.MountAttr{}) != unix.ENOSYS
})
