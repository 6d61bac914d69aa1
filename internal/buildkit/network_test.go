package buildkit

import (
	"strings"
	"testing"
)

// The build bridge's name fits IFNAMSIZ, is stable for a root (a
// restarted pierd takes its bridge over) and differs between roots.
func TestBridgeName(t *testing.T) {
	a, b := bridgeName("/var/lib/pier/buildkit"), bridgeName("/tmp/x/root/buildkit")
	if len(a) > 15 || !strings.HasPrefix(a, "pierbk-") {
		t.Errorf("bridgeName = %q: not pierbk-… within 15 bytes", a)
	}
	if a != bridgeName("/var/lib/pier/buildkit") || a == b {
		t.Errorf("bridgeName not one per root: %q, %q", a, b)
	}
}

// mountsUnder lists only what is strictly below dir, deepest first, so
// that stacked mounts come off before the ones they sit on.
func TestMountsUnder(t *testing.T) {
	ms, err := mountsUnder("")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Skip("no mounts in /proc/self/mountinfo")
	}
	for i := 1; i < len(ms); i++ {
		if len(ms[i]) > len(ms[i-1]) {
			t.Fatalf("not deepest first: %q before %q", ms[i-1], ms[i])
		}
	}
	if got, _ := mountsUnder("/nonexistent-pier-dir"); len(got) != 0 {
		t.Errorf("mountsUnder(/nonexistent-pier-dir) = %v", got)
	}
}
