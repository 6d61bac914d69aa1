package seccomp

import "testing"

func TestReleaseTablesRebuilds(t *testing.T) {
	a := arches["SCMP_ARCH_X86_64"]
	if a == nil || a.table() == nil {
		t.Fatal("no x86_64 table")
	}
	want := a.table()["read"]
	ReleaseTables()
	a.mu.Lock()
	released := a.nums == nil
	a.mu.Unlock()
	if !released {
		t.Error("ReleaseTables kept the x86_64 table")
	}
	if got, ok := a.table()["read"]; !ok || got != want {
		t.Errorf("rebuilt table: read = %d, %v; want %d", got, ok, want)
	}
}
