package buildkitd

import (
	"reflect"
	"testing"
)

// TestGCArgs: daemon.json's builder.gc as pier-buildkitd's flags; the
// zero value passes none (the child's default policy).
func TestGCArgs(t *testing.T) {
	if a := (GC{}).args(); len(a) != 0 {
		t.Errorf("zero GC: %q, want no flags", a)
	}
	want := []string{"--gc=false", "--gc-reserved-space", "5", "--gc-min-free-space", "7"}
	if a := (GC{Off: true, ReservedSpace: 5, MinFreeSpace: 7}).args(); !reflect.DeepEqual(a, want) {
		t.Errorf("GC args %q, want %q", a, want)
	}
}
