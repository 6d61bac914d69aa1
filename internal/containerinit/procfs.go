package containerinit

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/sys"
)

// Writes to procfs go through descriptors, never by path: a mount the
// config (or a symlink planted in a volume it mounts) put over a procfs
// file would otherwise receive them (the CVE-2025-52881 class).

// finishAndSysctls applies the read-only and masked paths, then writes
// linux.sysctl through a private clone of the container's /proc: a
// detached copy of that procfs mount with nothing mounted on it, which no
// later mount can reach. Without open_tree (Linux < 5.2) the sysctls are
// written first, through the container's /proc itself, and the checks of
// sys.OpenInProc are all that protects them.
func finishAndSysctls(opts rootfs.Options) error {
	sysctl := opts.Spec.Linux.Sysctl
	if len(sysctl) == 0 {
		return rootfs.Finish(opts)
	}
	proc, err := sys.OpenProc("/proc")
	if err != nil {
		return fmt.Errorf("linux.sysctl: the container's /proc: %w", err)
	}
	defer proc.Close()
	private, err := sys.CloneMount(proc)
	if errors.Is(err, unix.ENOSYS) {
		if err := writeSysctls(proc, sysctl); err != nil {
			return err
		}
		return rootfs.Finish(opts)
	}
	if err != nil {
		return fmt.Errorf("linux.sysctl: clone /proc: %w", err)
	}
	defer private.Close()
	if err := rootfs.Finish(opts); err != nil {
		return err
	}
	return writeSysctls(private, sysctl)
}

func writeSysctls(proc *os.File, sysctl map[string]string) error {
	for key, value := range sysctl {
		name := "sys/" + strings.ReplaceAll(key, ".", "/")
		if err := writeProc(proc, name, value); err != nil {
			return fmt.Errorf("linux.sysctl[%s]: %w", key, err)
		}
	}
	return nil
}

func writeProc(proc *os.File, name, value string) error {
	f, err := sys.OpenInProc(proc, name, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write([]byte(value)); err != nil {
		return fmt.Errorf("write /proc/%s: %w", name, err)
	}
	return nil
}

// applyOOMScore writes process.oomScoreAdj through the verified /proc of
// wherever the process stands: the host's before the container's mounts,
// the container's for exec.
func applyOOMScore(score *int) error {
	if score == nil {
		return nil
	}
	v := strconv.Itoa(*score)
	proc, err := sys.OpenProc("/proc")
	if err != nil {
		return fmt.Errorf("process.oomScoreAdj %s: %w", v, err)
	}
	defer proc.Close()
	if err := writeProc(proc, "self/oom_score_adj", v); err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("process.oomScoreAdj %s: lowering it needs CAP_SYS_RESOURCE: %w", v, err)
		}
		return fmt.Errorf("process.oomScoreAdj %s: %w", v, err)
	}
	return nil
}
