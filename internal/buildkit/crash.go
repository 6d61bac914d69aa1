package buildkit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pier-engine/pier/internal/cgroups"
	"github.com/pier-engine/pier/internal/rootfs"
)

// sweepCrash undoes what the RUN steps of a BuildKit that died with its
// process (kill -9 of pierd mid-build) left behind, before a new one
// starts on root: the steps' processes and cgroups (killed and removed
// with the cgroup parent) and the mounts under root (step root
// filesystems, cache mounts, network namespaces). BuildKit's own
// databases drop the half-made records themselves; no image was
// exported, the exporter running only once the solve is done.
func sweepCrash(root string) error {
	var errs []error
	parent := cgroupParent(root)
	for _, p := range []string{parent + "/buildkit", parent} {
		m, err := cgroups.New(cgroups.Config{Path: "/" + p})
		if err != nil {
			continue // no cgroup of this kind here
		}
		if err := m.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", p, err))
		}
	}
	mounts, err := mountsUnder(root)
	if err != nil {
		errs = append(errs, err)
	}
	for _, m := range mounts {
		if err := rootfs.Detach(m); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("buildkit: clean up after an earlier crash: %w", err)
	}
	return nil
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}
