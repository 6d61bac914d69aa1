package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/testutil"
)

// TestLibRuntimeConforms runs the seam's suite against pier-runtime as a
// library (hostRuntime's choice for pier-runtime), and counts the runtime
// commands its execs ran: the command line is a wrapper that logs each
// invocation before it execs the real binary, while the library starts
// the preamble from the real binary. Execs must log none.
func TestLibRuntimeConforms(t *testing.T) {
	testutil.RequiresRoot(t)
	real := testutil.Binary(t, "pier-runtime")
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.log")
	wrapper := filepath.Join(dir, "pier-runtime")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, real)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cli := ociruntime.CLI{Name: RuntimeName, Path: wrapper, Root: t.TempDir()}
	rt, ok := hostRuntime(ociruntime.CLI{Name: RuntimeName, Path: real, Root: cli.Root}).(libRuntime)
	if !ok {
		t.Fatal("hostRuntime does not give pier-runtime's library seam")
	}
	rt.CLI = cli // the verbs that stay on the command line go through the wrapper

	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	id, pid := startSeamContainer(t, cli, "lib", bundle, dir)
	testRuntimeSeam(t, seamCase{rt: rt, id: id, pid: pid, proc: bundleProcess(t, bundle), dir: dir})

	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "create") || !strings.Contains(log, "pause") {
		t.Fatalf("the wrapper logged %q: it does not see the runtime's commands", log)
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.Contains(" "+line+" ", " exec ") {
			t.Errorf("an exec ran a pier-runtime command: %q", line)
		}
	}
}
