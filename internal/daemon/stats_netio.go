package daemon

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/cgroups"
)

// netStats reads the interfaces of pid's network namespace from
// /proc/PID/net/dev, which shows the namespace of the process, so no setns
// is needed; lo is left out, as dockerd does.
func netStats(pid int) (map[string]container.NetworkStats, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseNetDev(bufio.NewScanner(f))
}

// parseNetDev parses net/dev: two header lines, then "name: 16 counters"
// (8 receive, then 8 transmit).
func parseNetDev(sc *bufio.Scanner) (map[string]container.NetworkStats, error) {
	out := map[string]container.NetworkStats{}
	for line := 0; sc.Scan(); line++ {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if line < 2 || !ok {
			continue
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "lo" || len(f) < 16 {
			continue
		}
		var n [16]uint64
		for i := range n {
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("net/dev %s: %w", name, err)
			}
			n[i] = v
		}
		out[name] = container.NetworkStats{
			RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
		}
	}
	return out, sc.Err()
}

// blkioStats is the cgroup's bytes read and written per device, in the
// API's cgroup-v1 shape (Op "Read"/"Write"), which docker's stats sums.
func blkioStats(io []cgroups.IOEntry) container.BlkioStats {
	var b container.BlkioStats
	for _, e := range io {
		if e.Op == "" {
			continue
		}
		op := strings.ToUpper(e.Op[:1]) + e.Op[1:]
		if op != "Read" && op != "Write" {
			continue
		}
		b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive,
			container.BlkioStatEntry{Major: e.Major, Minor: e.Minor, Op: op, Value: e.Value})
	}
	return b
}
