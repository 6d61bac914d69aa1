package monitor

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOOMKills reads the counters of a fake v1 and v2 memory cgroup.
func TestOOMKills(t *testing.T) {
	v1, v2, none := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir, name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(v1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	write(v2, "memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n")
	if n, ok := oomKills([]string{v1}); n != 2 || !ok {
		t.Errorf("v1: %d, %v; want 2, true", n, ok)
	}
	if n, ok := oomKills([]string{v2}); n != 1 || !ok {
		t.Errorf("v2: %d, %v; want 1, true", n, ok)
	}
	if n, ok := oomKills([]string{none, filepath.Join(none, "gone"), v1}); n != 2 || !ok {
		t.Errorf("a missing cgroup beside v1: %d, %v; want 2, true", n, ok)
	}
	if n, ok := oomKills([]string{none}); n != 0 || ok {
		t.Errorf("no counter: %d, %v; want 0, false", n, ok)
	}
	// A v1 kernel older than 4.13 has no oom_kill line.
	write(none, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n")
	if _, ok := oomKills([]string{none}); ok {
		t.Error("memory.oom_control without oom_kill gave a counter")
	}
}
