package pier_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pier-engine/pier"

// layers places every internal package; imports must point strictly down.
// A package missing from this table fails the test, so a new package is a
// conscious decision about where it sits.
var layers = map[string]float64{
	// L0: leaves.
	"internal/sys":        0,
	"internal/errdefs":    0,
	"internal/ocispec":    0,
	"internal/archive":    0,
	"internal/decompress": 0,
	"internal/atomicfile": 0,
	"internal/version":    0,
	"internal/filter":     0,
	"internal/signame":    0, // signal names, so the CLIs never import syscall
	"internal/trace":      0, // the opt-in start timeline (PIER_TRACE)
	// L1: kernel mechanisms, each on its own.
	"internal/cgroups":          1,
	"internal/cgroups/fscommon": 1,
	"internal/rootfs":           1,
	"internal/caps":             1,
	"internal/seccomp":          1,
	"internal/nsenter":          1, // the preamble's wire format, pure Go
	"internal/nsenter/preamble": 1, // the C preamble itself (cgo)
	"internal/sigfwd":           1, // a foreground run's/exec's signal handler (cgo, pier-runtime only)
	"internal/snapshot":         1,
	"internal/metadata":         1,
	"internal/network":          1,
	"internal/userns":           1, // a CRI pod's user namespace and the namespaces it owns
	"internal/dns":              1,
	"internal/logfile":          1,
	"internal/hooks":            1,
	"internal/syncmsg":          1,
	"internal/ociruntime":       1,
	// L2: the runtime, what runs inside before execve, PID 1.
	"internal/runtime":       2,
	"internal/containerinit": 2,
	"internal/pid1":          2,
	"internal/image":         2,
	"internal/specgen":       2,
	"internal/volume":        2,
	// L2.5: the per-container monitor drives internal/runtime in-process
	// (create, start, delete), and still talks to the kernel itself.
	"internal/monitor": 2.5,
	// L3: the engine.
	"internal/daemon":         3,
	"internal/builder":        3, // the classic Dockerfile builder
	"internal/buildkit":       3, // BuildKit embedded: controller, worker, exporter
	"internal/buildkitd":      3, // runs pier-buildkitd for pierd; its image store socket
	"internal/daemon/events":  3, // the event bus and its filters
	"internal/daemon/network": 3, // the network controller
	"internal/daemon/pod":     3, // CRI pod sandboxes and CNI
	// L4: edges.
	"internal/ocicli": 4,
	"internal/server": 4,
	"internal/cri":    4, // the Kubernetes CRI (gRPC)
	"internal/cli":    4,
}

// kernelAPI are the packages that talk to the kernel directly; above L2
// (the engine, the API, the CLIs) a kernel call goes through an L0-L2
// package that names what it does (sys.Umask, rootfs.MountShm,
// network.LinkExists).
var kernelAPI = map[string]bool{
	"syscall":                        true,
	"golang.org/x/sys/unix":          true,
	"github.com/vishvananda/netlink": true,
	"github.com/vishvananda/netns":   true,
}

// testOnly packages may be imported by tests alone.
var testOnly = map[string]bool{"internal/testutil": true}

type pkg struct {
	ImportPath string
	Imports    []string
	CgoFiles   []string
	Deps       []string
}

func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if !strings.HasPrefix(path, module+"/") {
		return "", false
	}
	return strings.TrimPrefix(path, module+"/"), true
}

func TestImportsPointDown(t *testing.T) {
	for _, p := range list(t, "./internal/...") {
		me, _ := rel(p.ImportPath)
		if testOnly[me] {
			continue
		}
		mine, ok := layers[me]
		if !ok {
			t.Errorf("%s is not in the layer table of layering_test.go", me)
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := rel(imp)
			if !ours {
				if kernelAPI[imp] && mine >= 3 {
					t.Errorf("%s (L%g) imports %s: only L0-L2 talk to the kernel", me, mine, imp)
				}
				if imp == "net/http" && !allowedHTTP(me) {
					t.Errorf("%s imports net/http: only server, image and cli may", me)
				}
				continue
			}
			if testOnly[dep] {
				t.Errorf("%s imports the test-only %s", me, dep)
				continue
			}
			if theirs, ok := layers[dep]; ok && theirs >= mine && !sameTree(me, dep) {
				t.Errorf("%s (L%g) imports %s (L%g): imports must point to a lower layer", me, mine, dep, theirs)
			}
		}
	}
}

// sameTree allows a package to use its own subpackages (cgroups/fscommon,
// daemon/events); a subpackage never imports its parent.
func sameTree(a, b string) bool {
	return strings.HasPrefix(b, a+"/")
}

func allowedHTTP(p string) bool {
	// The CLI is an HTTP client of the Engine API: its TLS transport is an
	// http.Transport.
	return strings.HasPrefix(p, "internal/server") || strings.HasPrefix(p, "internal/image") || p == "internal/cli" || p == "internal/cri" ||
		p == "internal/buildkit" || // serves BuildKit's h2c gRPC, and FROM from pier's store as a registry transport
		p == "internal/buildkitd" // serves pier's image store to pier-buildkitd
}

func TestCgoOnlyInRuntime(t *testing.T) {
	for _, main := range []string{"./cmd/pier", "./cmd/pierd", "./cmd/pier-init", "./cmd/pier-monitor"} {
		for _, p := range list(t, "-deps", main) {
			if _, ours := rel(p.ImportPath); ours && len(p.CgoFiles) > 0 {
				t.Errorf("%s links cgo package %s: cgo belongs to pier-runtime only", main, p.ImportPath)
			}
		}
	}
	found := false
	for _, p := range list(t, "-deps", "./cmd/pier-runtime") {
		if p.ImportPath == module+"/internal/nsenter/preamble" {
			found = true
		}
	}
	if !found {
		t.Errorf("pier-runtime does not link internal/nsenter/preamble, the C preamble")
	}
}
