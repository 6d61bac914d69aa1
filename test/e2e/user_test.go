package e2e_test

import (
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestRunUserName runs a container as a user name, which is resolved at
// create against the image's layers, before the rootfs is mounted: with
// docker's CLI, pier's, and a group name too.
func TestRunUserName(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	clis := map[string][]string{
		"docker": {dockers[0], "--host", d.host},
		"pier":   {testutil.Binary(t, "pier"), "-H", d.host},
	}
	for name, cli := range clis {
		t.Run(name, func(t *testing.T) {
			x := func(args ...string) (int, string, string) { return run(t, cli[0], append(cli[1:], args...)...) }
			if code, out, errs := x("run", "--rm", "-u", "nobody", "busybox", "id", "-u"); code != 0 || out != "65534\n" {
				t.Errorf("run -u nobody id -u = %d %q %q", code, out, errs)
			}
			if code, out, errs := x("run", "--rm", "-u", "nobody:daemon", "busybox", "sh", "-c", "id -un; id -gn"); code != 0 || out != "nobody\ndaemon\n" {
				t.Errorf("run -u nobody:daemon id -un -gn = %d %q %q", code, out, errs)
			}
			if code, out, errs := x("run", "--rm", "-u", "nosuchuser", "busybox", "true"); code == 0 {
				t.Errorf("run -u nosuchuser = %d %q %q, want an error", code, out, errs)
			}
		})
	}
}
