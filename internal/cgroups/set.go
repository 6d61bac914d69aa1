package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Set validates r, then writes it in the layout's files.
func (m *manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := m.Validate(r); err != nil {
		return err
	}
	var err error
	if m.mode == V2 {
		err = setV2(m.v2dir(), r)
	} else {
		err = m.setV1(r)
		if err == nil && len(r.Unified) > 0 {
			err = setUnified(m.v2dir(), r.Unified)
		}
	}
	if err != nil {
		return fmt.Errorf("set cgroup resources: %w", err)
	}
	return nil
}

// writer keeps the first error of a run of writes, so a controller's
// settings read as a list.
type writer struct {
	dir string
	err error
}

func (w *writer) set(file, val string) {
	if w.err == nil {
		w.err = kernel.write(w.dir, file, val)
	}
}

func (w *writer) int(file string, v *int64) {
	if v != nil {
		w.set(file, strconv.FormatInt(*v, 10))
	}
}

func (w *writer) uint(file string, v *uint64) {
	if v != nil {
		w.set(file, strconv.FormatUint(*v, 10))
	}
}

func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// positive is v when it is set and not 0, which the spec uses for unset.
func positive(v *int64) *int64 {
	if v == nil || *v == 0 {
		return nil
	}
	return v
}

// sharesToWeight maps cpu.shares [2, 262144] onto cpu.weight [1, 10000],
// the linear map runc and crun use, so the same spec means the same on
// every runtime.
func sharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

// blkioToIOWeight maps blkio.weight [10, 1000] onto io.weight [1, 10000].
func blkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	v := min(max(uint64(w), 10), 1000)
	return 1 + ((v-10)*9999)/990
}

// sortedKeys of a map, so writes happen in a repeatable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func devNum(d specs.LinuxBlockIODevice) string {
	return fmt.Sprintf("%d:%d", d.Major, d.Minor)
}

// rdmaLine is one device's rdma.max line, "mlx4_0 hca_handle=2 hca_object=max".
func rdmaLine(dev string, l specs.LinuxRdma) string {
	s := dev
	if l.HcaHandles != nil {
		s += fmt.Sprintf(" hca_handle=%d", *l.HcaHandles)
	}
	if l.HcaObjects != nil {
		s += fmt.Sprintf(" hca_object=%d", *l.HcaObjects)
	}
	return s
}

// setUnified writes linux.resources.unified verbatim, after everything
// else, so it wins over the typed fields as the spec says.
func setUnified(dir string, u map[string]string) error {
	for _, k := range sortedKeys(u) {
		if err := kernel.write(dir, k, u[k]); err != nil {
			return fmt.Errorf(field+"unified[%q]: %w", k, err)
		}
	}
	return nil
}

// throttle is one of the spec's four throttle lists and its files.
type throttle struct {
	v1File, v2Key string
	devs          []specs.LinuxThrottleDevice
}

func throttles(b *specs.LinuxBlockIO) []throttle {
	return []throttle{
		{"read_bps_device", "rbps", b.ThrottleReadBpsDevice},
		{"write_bps_device", "wbps", b.ThrottleWriteBpsDevice},
		{"read_iops_device", "riops", b.ThrottleReadIOPSDevice},
		{"write_iops_device", "wiops", b.ThrottleWriteIOPSDevice},
	}
}
