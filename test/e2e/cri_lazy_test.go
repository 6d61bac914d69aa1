package e2e_test

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// TestCRIFirstRequestAfterLazyStart: pierd makes its CRI gRPC and
// streaming servers on the first connection to the CRI socket (so an idle
// pierd keeps none of their memory). The first request of a fresh pierd is
// answered by the server it starts, and clients connecting at once while
// it starts are answered too.
func TestCRIFirstRequestAfterLazyStart(t *testing.T) {
	requiresCRI(t)
	e := newCRI(t)
	if out := e.cri(t, "version"); !strings.Contains(out, "RuntimeName:  pier") {
		t.Fatalf("crictl version, the first request: %q", out)
	}
	e.d.stop(t)
	e.d = e.start(t)
	var wg sync.WaitGroup
	outs, errs := make([][]byte, 4), make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command(e.crictl, "--config", e.config, "version").CombinedOutput()
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if errs[i] != nil || !strings.Contains(string(out), "RuntimeName:  pier") {
			t.Errorf("client %d of 4 at a fresh pierd's start: %v: %q", i, errs[i], out)
		}
	}
}
