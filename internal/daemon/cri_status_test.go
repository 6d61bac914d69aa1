package daemon

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStatus reads the propagation and ro back from the bind options
// the CRI's mounts were translated to; critest checks them.
func TestBindOptions(t *testing.T) {
	for opts, want := range map[string]struct {
		ro   bool
		prop runtimeapi.MountPropagation
	}{
		"rw":         {false, runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		"ro":         {true, runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		"rw,rslave":  {false, runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		"ro,rshared": {true, runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
		"rprivate":   {false, runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
	} {
		if ro, prop := bindOptions(opts); ro != want.ro || prop != want.prop {
			t.Errorf("bindOptions(%q) = %v, %v; want %v, %v", opts, ro, prop, want.ro, want.prop)
		}
	}
}
