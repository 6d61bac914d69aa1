package daemon

import (
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestUsesInit(t *testing.T) {
	off, on := false, true
	if !usesInit(nil) || !usesInit(&container.HostConfig{}) || !usesInit(&container.HostConfig{Init: &on}) || usesInit(&container.HostConfig{Init: &off}) {
		t.Error("pier-init is PID 1 unless Init is false")
	}
}
