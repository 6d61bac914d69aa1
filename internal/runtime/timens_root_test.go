package runtime_test

import (
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestTimeNamespaceOffsetsUptime(t *testing.T) {
	r := newRT(t)
	testutil.Requires(t, "timens")
	const day = 86400
	// /proc/uptime follows the boottime clock; timens_offsets shows both.
	b := testutil.Bundle(t, []string{"cat", "/proc/uptime", "/proc/self/timens_offsets"}, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: day}, "boottime": {Secs: day}}
	})
	host := uptime(t, readTrim(t, "/proc/uptime"))
	out := lines(r.ok("run", "--bundle", b, r.id()))
	if got := uptime(t, out[0]); got < host+day-60 || got > host+day+60 {
		t.Errorf("uptime in the container %.0f s, host %.0f s: want the host's plus %d", got, host, day)
	}
	offsets := map[string]string{}
	for _, l := range out[1:] {
		if f := strings.Fields(l); len(f) == 3 {
			offsets[f[0]] = f[1] + " " + f[2]
		}
	}
	for _, clock := range []string{"monotonic", "boottime"} {
		if offsets[clock] != "86400 0" {
			t.Errorf("timens_offsets %s: %q, want 86400 0 (all: %q)", clock, offsets[clock], out[1:])
		}
	}
}

func uptime(t *testing.T, s string) float64 {
	t.Helper()
	f := strings.Fields(s)
	if len(f) == 0 {
		t.Fatalf("uptime %q", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatalf("uptime %q: %v", s, err)
	}
	return v
}
