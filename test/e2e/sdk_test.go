package e2e_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// sdkPython is Debian's python, where apt's python3-docker lives; a
// python earlier on PATH (pyenv) would not see it.
const sdkPython = "/usr/bin/python3"

// TestSDKCycle drives a run / wait / logs / remove cycle through Docker's
// Python SDK (Debian's python3-docker), a client that speaks the API
// without the docker CLI in between.
func TestSDKCycle(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	if out, err := exec.Command(sdkPython, "-c", "import docker").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import docker (apt-get install python3-docker): %v: %s", sdkPython, err, out)
	}
	testutil.CheckLeaks(t)
	dir := shortDir(t)
	d := startPierd(t, dir)
	code, out, errs := run(t, sdkPython, "testdata/sdk_cycle.py", d.sock)
	if code != 0 || !strings.HasSuffix(out, "SDK OK\n") {
		t.Errorf("sdk_cycle.py = %d\nstdout:\n%s\nstderr:\n%s\npierd log:\n%s", code, out, errs, d.stderr)
	}
	noContainersLeft(t, d)
}
