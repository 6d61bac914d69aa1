package e2e_test

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// TestExec runs processes in a running container with the docker CLIs and
// pier: output, exit code, -e and -w, -d, and the refusal for a stopped
// container.
func TestExec(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	if code, out, errs := dk("run", "-d", "--name", "ex", "busybox", "sleep", "1000"); code != 0 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", "ex") })
	clis := map[string][]string{"pier": {testutil.Binary(t, "pier"), "-H", d.host}}
	for _, docker := range dockers {
		if _, err := os.Stat(docker); err == nil {
			clis[docker] = []string{docker, "--host", d.host}
		}
	}
	for name, cli := range clis {
		t.Run(name, func(t *testing.T) {
			x := func(args ...string) (int, string, string) { return run(t, cli[0], append(cli[1:], args...)...) }
			if code, out, errs := x("exec", "ex", "sh", "-c", "echo hi; echo err >&2; exit 4"); code != 4 || out != "hi\n" || errs != "err\n" {
				t.Errorf("exec exit 4 = %d %q %q", code, out, errs)
			}
			if code, out, errs := x("exec", "-e", "A=b", "-w", "/tmp", "ex", "sh", "-c", "echo $A $(pwd)"); code != 0 || out != "b /tmp\n" {
				t.Errorf("exec -e -w = %d %q %q", code, out, errs)
			}
			if code, out, errs := x("exec", "-u", "nobody", "ex", "id", "-u"); code != 0 || out != "65534\n" {
				t.Errorf("exec -u nobody = %d %q %q", code, out, errs)
			}
			if code, out, errs := x("exec", "-d", "ex", "sh", "-c", "echo "+name+" > /tmp/detached"); code != 0 || out != "" {
				t.Errorf("exec -d = %d %q %q", code, out, errs)
			}
			var got string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if _, got, _ = x("exec", "ex", "cat", "/tmp/detached"); got == name+"\n" {
					break
				}
			}
			if got != name+"\n" {
				t.Errorf("detached exec wrote %q", got)
			}
		})
	}
	if code, out, errs := dk("stop", "-t", "0", "ex"); code != 0 {
		t.Fatalf("stop = %d %q %q", code, out, errs)
	}
	for name, cli := range clis {
		code, _, errs := run(t, cli[0], append(cli[1:], "exec", "ex", "true")...)
		if code == 0 || !strings.Contains(errs, "is not running") {
			t.Errorf("%s exec in a stopped container = %d %q", name, code, errs)
		}
	}
}

// TestExecLatency times `docker exec s true` through pierd and logs the
// median, for the record.
func TestExecLatency(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	if code, out, errs := dk("run", "-d", "--name", "ex", "busybox", "sleep", "1000"); code != 0 {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", "ex") })
	var times []time.Duration
	for range 20 {
		start := time.Now()
		if code, out, errs := dk("exec", "ex", "true"); code != 0 {
			t.Fatalf("exec true = %d %q %q", code, out, errs)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("docker exec true: median %v, min %v, max %v", times[len(times)/2], times[0], times[len(times)-1])
}
