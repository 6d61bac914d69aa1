package seccomp

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkInstall times seccomp(2) installing Docker's default profile,
// as the search tree and as the linear list, and a filter of one return
// for the floor, each in a fresh child (a filter cannot be removed, and a
// second one would be prepared against the first). The three alternate in
// every iteration, so that the load of the machine falls on all alike.
// Needs no root: the child sets no_new_privs.
//
//	go test -run '^$' -bench Install -benchtime 40x ./internal/seccomp/
func BenchmarkInstall(b *testing.B) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"}}}}
	docker, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		b.Fatal(err)
	}
	kinds := []struct {
		name string
		req  childRequest
	}{
		{"tree", childRequest{Seccomp: *docker, Timed: true}},
		{"linear", childRequest{Seccomp: *docker, Linear: true, Timed: true}},
		{"floor", childRequest{Seccomp: specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, Timed: true}},
	}
	took := make([][]time.Duration, len(kinds))
	for i := range b.N {
		for j := range kinds {
			k := (i + j) % len(kinds)
			out, err := runChildReq(b, kinds[k].req)
			if err != nil {
				b.Fatal(err)
			}
			ns, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			if err != nil {
				b.Fatalf("%s child printed %q", kinds[k].name, out)
			}
			took[k] = append(took[k], time.Duration(ns))
		}
	}
	for k, ds := range took {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), kinds[k].name+"-µs")
	}
}
