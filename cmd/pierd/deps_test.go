package main

import (
	"os/exec"
	"strings"
	"testing"
)

// classicParser are the BuildKit packages the classic builder
// (internal/builder) uses to parse Dockerfiles; nothing else of BuildKit
// may be linked into pierd.
var classicParser = map[string]bool{
	"github.com/moby/buildkit/frontend/dockerfile/command":      true,
	"github.com/moby/buildkit/frontend/dockerfile/instructions": true,
	"github.com/moby/buildkit/frontend/dockerfile/linter":       true,
	"github.com/moby/buildkit/frontend/dockerfile/parser":       true,
	"github.com/moby/buildkit/frontend/dockerfile/shell":        true,
	"github.com/moby/buildkit/util/stack":                       true,
	"github.com/moby/buildkit/util/suggest":                     true,
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestPierdLinksNoBuildKit: BuildKit runs in pier-buildkitd, so an idle
// pierd neither links nor faults in its code (issue 12's idle RSS); pierd
// reaches it through internal/buildkitd and the API's proxy only.
func TestPierdLinksNoBuildKit(t *testing.T) {
	for _, p := range deps(t, ".") {
		if strings.HasPrefix(p, "github.com/moby/buildkit/") && !classicParser[p] {
			t.Errorf("pierd links %s: BuildKit belongs to pier-buildkitd", p)
		}
		if p == "github.com/pier-engine/pier/internal/buildkit" {
			t.Errorf("pierd links internal/buildkit: it belongs to pier-buildkitd")
		}
	}
	found := false
	for _, p := range deps(t, "../pier-buildkitd") {
		found = found || p == "github.com/moby/buildkit/control"
	}
	if !found {
		t.Errorf("pier-buildkitd does not link BuildKit's controller")
	}
}
