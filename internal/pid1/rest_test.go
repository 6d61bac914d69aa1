package pid1

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// Both ways of finding descendants see the same tree: a shell, its two
// sleeps, and nothing of anybody else's.
func TestDescendants(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 100 & sleep 100 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pid := range descendants(cmd.Process.Pid) {
			_ = syscallKill(pid)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	waitFor(t, 5*time.Second, func() bool { return len(descendants(cmd.Process.Pid)) == 2 },
		func() string { return "the shell's two sleeps never showed" })
	walk := descendants(os.Getpid())
	scan := descendantsByScan(os.Getpid())
	slices.Sort(walk)
	slices.Sort(scan)
	if !slices.Equal(walk, scan) || len(walk) < 3 || !slices.Contains(walk, cmd.Process.Pid) {
		t.Errorf("descendants: walk %v, scan %v; want the same, with the shell %d and its sleeps", walk, scan, cmd.Process.Pid)
	}
}
