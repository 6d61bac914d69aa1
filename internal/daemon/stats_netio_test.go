package daemon

import (
	"bufio"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/cgroups"
)

func TestParseNetDev(t *testing.T) {
	const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:  123456     100    1    2    0     0          0         0     6543      50    3    4    0     0       0          0
`
	got, err := parseNetDev(bufio.NewScanner(strings.NewReader(dev)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["lo"]; ok || len(got) != 1 {
		t.Fatalf("interfaces %v, want eth0 alone", got)
	}
	e := got["eth0"]
	if e.RxBytes != 123456 || e.RxPackets != 100 || e.RxErrors != 1 || e.RxDropped != 2 ||
		e.TxBytes != 6543 || e.TxPackets != 50 || e.TxErrors != 3 || e.TxDropped != 4 {
		t.Errorf("eth0 = %+v", e)
	}
	if _, err := parseNetDev(bufio.NewScanner(strings.NewReader(dev[:strings.Index(dev, "  eth0")] + "  eth0: 1 x\n"))); err != nil {
		t.Errorf("a short line should be skipped: %v", err)
	}
}

func TestBlkioStats(t *testing.T) {
	b := blkioStats([]cgroups.IOEntry{{Major: 8, Op: "read", Value: 10}, {Major: 8, Op: "write", Value: 20}, {Major: 8, Op: "sync", Value: 1}})
	if len(b.IoServiceBytesRecursive) != 2 || b.IoServiceBytesRecursive[0].Op != "Read" || b.IoServiceBytesRecursive[1].Value != 20 {
		t.Errorf("blkio = %+v", b.IoServiceBytesRecursive)
	}
}
