package e2e_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDockerEvents: a docker run --rm shows create, start, die and
// destroy in order; --until ends the stream.
func TestDockerEvents(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	if code, out, errs := dk("run", "--rm", "--name", "evx", "busybox", "true"); code != 0 {
		t.Fatalf("run = %d %q %q", code, out, errs)
	}
	// until one second on: replay, then the stream ends by itself.
	until := fmt.Sprint(time.Now().Add(time.Second).Unix() + 1)
	start := time.Now()
	code, out, errs := dk("events", "--since", "0", "--until", until, "--filter", "container=evx")
	if code != 0 {
		t.Fatalf("events = %d %q %q", code, out, errs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("events took %v to end at --until", took)
	}
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\S+ container (\w+) [0-9a-f]{64} \((.*)\)$`)
	var actions []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("event line %q is not docker's format; all:\n%s", l, out)
		}
		if !strings.Contains(m[2], "name=evx") || !strings.Contains(m[2], "image=busybox") {
			t.Errorf("attributes of %q", l)
		}
		if m[1] == "die" && !strings.Contains(m[2], "exitCode=0") {
			t.Errorf("die without exitCode=0: %q", l)
		}
		actions = append(actions, m[1])
	}
	if got := strings.Join(actions, " "); got != "create start die destroy" {
		t.Errorf("actions = %q, want create start die destroy; output:\n%s", got, out)
	}
	noContainersLeft(t, d)
}

// TestDockerDFAndPrune: system df sees a stopped container and the image,
// container prune -f removes the container.
func TestDockerDFAndPrune(t *testing.T) {
	d := newPierd(t, "busybox", "overlay")
	dk := func(args ...string) (int, string, string) {
		return run(t, dockers[0], append([]string{"--host", d.host}, args...)...)
	}
	if code, out, errs := dk("run", "--name", "stopped", "busybox", "sh", "-c", "echo data > /file"); code != 0 {
		t.Fatalf("run = %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { dk("rm", "-f", "stopped") })
	code, out, errs := dk("system", "df")
	if code != 0 || !regexp.MustCompile(`(?m)^Images +1 +1 `).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Containers +1 +0 +5B `).MatchString(out) {
		t.Errorf("system df = %d %q %q", code, out, errs)
	}
	code, out, errs = dk("container", "prune", "-f")
	if code != 0 || !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, "Total reclaimed space: 5B") {
		t.Errorf("container prune -f = %d %q %q", code, out, errs)
	}
	noContainersLeft(t, d)
}
