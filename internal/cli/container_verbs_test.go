package cli

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestPs(t *testing.T) {
	f := &fakeDocker{list: []container.Summary{{
		ID: fakeID, Names: []string{"/web"}, Image: "busybox", Command: "sh -c 'while :; do sleep 1; done'",
		Created: time.Now().Add(-time.Hour).Unix(), State: "running", Status: "Up 59 minutes",
		Ports: []container.PortSummary{{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"}},
	}}}
	host := startFakeDocker(t, f)
	code, out, errs := run(t, "-H", host, "ps", "-a")
	if code != 0 {
		t.Fatalf("ps = %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES" {
		t.Fatalf("ps table:\n%s", out)
	}
	for _, want := range []string{fakeID[:12] + "   busybox", `"sh -c 'while :; do …"`, "About an hour ago", "Up 59 minutes",
		"0.0.0.0:8080->80/tcp", "web"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("ps row lacks %q: %q", want, lines[1])
		}
	}
	if calls := f.recorded(); calls[len(calls)-1] != "GET /containers/json?all=1" {
		t.Errorf("ps -a calls %q", calls)
	}
	if _, out, _ := run(t, "-H", host, "ps", "-q"); out != fakeID[:12]+"\n" {
		t.Errorf("ps -q = %q", out)
	}
	if calls := f.recorded(); calls[len(calls)-1] != "GET /containers/json" {
		t.Errorf("ps without -a calls %q", calls)
	}
	if _, out, _ := run(t, "-H", host, "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}"); out != fakeID+" web running\n" {
		t.Errorf("ps --format = %q", out)
	}
	_, out, _ = run(t, "-H", host, "ps", "--format", "json")
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil || m["Names"] != "web" || m["ID"] != fakeID[:12] {
		t.Errorf("ps --format json = %q (%v)", out, err)
	}
}

func TestLogs(t *testing.T) {
	f := &fakeDocker{stdout: "out line\n", stderr: "err line\n"}
	host := startFakeDocker(t, f)
	code, out, errs := run(t, "-H", host, "logs", "--tail", "5", "-t", "web")
	if code != 0 || out != "out line\n" || errs != "err line\n" {
		t.Fatalf("logs = %d %q %q", code, out, errs)
	}
	calls := f.recorded()
	if len(calls) != 2 || calls[0] != "GET /containers/web/json" ||
		calls[1] != "GET /containers/"+fakeID+"/logs?stderr=1&stdout=1&tail=5&timestamps=1" {
		t.Errorf("logs calls %q", calls)
	}
	if code, _, errs := run(t, "-H", host, "logs", "nope"); code != ExitFailure || !strings.Contains(errs, "No such container: nope") {
		t.Errorf("logs of unknown = %d %q", code, errs)
	}
}

// TestMultiContainerVerbs checks the query each verb sends, that each
// prints the names it handled, and that an unknown container fails the
// verb with exit 1 while the others are still handled.
func TestMultiContainerVerbs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		call string
	}{
		{[]string{"start"}, "POST /containers/web/start"},
		{[]string{"stop", "-t", "3"}, "POST /containers/web/stop?t=3"},
		{[]string{"stop", "-s", "SIGUSR1"}, "POST /containers/web/stop?signal=SIGUSR1"},
		{[]string{"stop"}, "POST /containers/web/stop"},
		{[]string{"kill", "-s", "HUP"}, "POST /containers/web/kill?signal=HUP"},
		{[]string{"kill"}, "POST /containers/web/kill"},
		{[]string{"rm", "-f", "-v"}, "DELETE /containers/web?force=1&v=1"},
		{[]string{"container", "rm"}, "DELETE /containers/web"},
	} {
		f := &fakeDocker{}
		host := startFakeDocker(t, f)
		args := append(append([]string{"-H", host}, tc.args...), "web", "nope", fakeID)
		code, out, errs := run(t, args...)
		if code != ExitFailure || out != "web\n"+fakeID+"\n" || !strings.Contains(errs, "No such container: nope") {
			t.Errorf("pier %q = %d, stdout %q stderr %q", tc.args, code, out, errs)
		}
		if calls := f.recorded(); len(calls) != 3 || calls[0] != tc.call {
			t.Errorf("pier %q calls %q, want first %q", tc.args, calls, tc.call)
		}
	}
}

func TestWait(t *testing.T) {
	f := &fakeDocker{exitCode: 3}
	host := startFakeDocker(t, f)
	close(f.started)
	f.startOnce.Do(func() {})
	code, out, errs := run(t, "-H", host, "wait", "web")
	if code != 0 || out != "3\n" {
		t.Errorf("wait = %d %q %q", code, out, errs)
	}
	if calls := f.recorded(); len(calls) != 1 || calls[0] != "POST /containers/web/wait" {
		t.Errorf("wait calls %q", calls)
	}
	if code, _, errs := run(t, "-H", host, "wait", "nope"); code != ExitFailure || !strings.Contains(errs, "No such container: nope") {
		t.Errorf("wait of unknown = %d %q", code, errs)
	}
}

func TestInspect(t *testing.T) {
	f := &fakeDocker{}
	host := startFakeDocker(t, f)
	code, out, errs := run(t, "-H", host, "inspect", "web", "busybox")
	if code != 0 {
		t.Fatalf("inspect = %d: %s", code, errs)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) != 2 || objs[0]["Name"] != "/web" ||
		objs[1]["Id"] != "sha256:"+strings.Repeat("cd", 32) || !strings.HasPrefix(out, "[\n    {") {
		t.Errorf("inspect = %q (%v)", out, err)
	}
	if _, out, _ := run(t, "-H", host, "inspect", "-f", "{{.Name}} {{.State.Status}}", "web"); out != "/web running\n" {
		t.Errorf("inspect -f = %q", out)
	}
	code, out, errs = run(t, "-H", host, "inspect", "nope")
	if code != ExitFailure || out != "[]\n" || !strings.Contains(errs, "No such object: nope") {
		t.Errorf("inspect of unknown = %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "-H", host, "container", "inspect", "busybox"); code != ExitFailure || !strings.Contains(errs, "No such container: busybox") {
		t.Errorf("container inspect of an image = %d %q", code, errs)
	}
}
