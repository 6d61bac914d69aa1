package runtime

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestFillReachesEveryType checks that the warm-up's spec reaches the
// deepest parts of a spec (a seccomp rule's arguments, a device rule, a
// map's values), so that their decoders are built before a create.
func TestFillReachesEveryType(t *testing.T) {
	var s specs.Spec
	fill(reflect.ValueOf(&s).Elem(), 0)
	if s.Linux == nil || s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) != 1 || len(s.Linux.Seccomp.Syscalls[0].Args) != 1 {
		t.Errorf("seccomp rules not filled: %+v", s.Linux)
	}
	if s.Linux.Resources == nil || len(s.Linux.Resources.Devices) != 1 || s.Linux.Resources.Memory == nil || s.Linux.Resources.Memory.Limit == nil {
		t.Errorf("resources not filled: %+v", s.Linux.Resources)
	}
	if len(s.Annotations) != 1 || s.Process == nil || s.Process.Capabilities == nil || len(s.Process.Rlimits) != 1 {
		t.Errorf("annotations or process not filled: %v %+v", s.Annotations, s.Process)
	}
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var back specs.Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the filled spec does not decode: %v", err)
	}
	WarmUp() // must not panic on any of it
}
