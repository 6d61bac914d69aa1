package main

import (
	"os"
	"os/exec"
	"regexp"
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

// daemonTags are the build tags `make build` gives pierd (the Makefile's
// DAEMON_TAGS).
func daemonTags(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^DAEMON_TAGS\s*:=\s*(\S*)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile sets no DAEMON_TAGS")
	}
	return string(m[1])
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-tags", daemonTags(t), "-deps", pkg).Output()
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
		// text/template's reflection (MethodByName) makes the linker keep
		// every exported method of every type: ~6 MB of binary and
		// ~3.5 MB of idle RSS (grpc's x/net/trace brought it in).
		if p == "text/template" || p == "golang.org/x/net/trace" {
			t.Errorf("pierd links %s", p)
		}
		// A BPF library with ELF, BTF and go/format for the device
		// filter's four bpf(2) calls: ~0.95 MB of binary, ~0.8 MB of RSS.
		if strings.HasPrefix(p, "github.com/cilium/ebpf") || p == "go/parser" {
			t.Errorf("pierd links %s", p)
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
