package ociruntime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

// fakeScript plays a runc-compatible runtime: it appends its argv to
// $dir/argv (one line per call) and answers each verb the way runc does.
// A container named "bad" fails every verb.
const fakeScript = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/argv"
log=
while [ "${1#--}" != "$1" ]; do
	case "$1" in
	--log) log=$2; shift 2 ;;
	--log-format|--root) shift 2 ;;
	*) break ;;
	esac
done
verb=$1; shift
case " $* " in *" bad "*)
	[ -n "$log" ] && echo '{"level":"error","msg":"container bad: it broke"}' >> "$log"
	echo "runtime says no" >&2
	exit 1 ;;
esac
case "$verb" in
--version) echo "fake version 9.8.7"; echo "spec: 1.2.0" ;;
create) while [ "$1" != --pid-file ]; do shift; done; echo 4242 > "$2"; echo "created on stdout" ;;
kill) [ "$2" = BOGUS ] && { echo "invalid signal BOGUS" >&2; exit 1; } ;;
ps) echo '[30,10,20]' ;;
events) echo '{"type":"stats","id":"c1","data":{"cpu":{"usage":7}}}' ;;
state) echo '{"ociVersion":"1.2.0","id":"c1","status":"running","pid":4242,"bundle":"/b"}' ;;
exec)
	while [ "$1" != --pid-file ]; do shift; done; echo $$ > "$2"
	echo "out"; echo "err" >&2
	case " $* " in *" sleepy "*) sleep 30 & wait $!; exit $? ;; esac
	exit 3 ;;
esac
exit 0
`

func fake(t *testing.T) (CLI, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "runtime")
	if err := os.WriteFile(p, []byte(fakeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return CLI{Name: "fake", Path: p, Root: filepath.Join(dir, "state")}, dir
}

// calls are the argv lines the fake got, its path aside.
func calls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestVerbsBuildRuncsCommandLine(t *testing.T) {
	c, dir := fake(t)
	ctx := context.Background()
	root := c.Root
	for _, err := range []error{
		c.Start(ctx, "c1"),
		c.Kill(ctx, "c1", "TERM"),
		c.Delete(ctx, "c1", false),
		c.Delete(ctx, "c1", true),
		c.Pause(ctx, "c1"),
		c.Resume(ctx, "c1"),
		c.Update(ctx, "c1", Resources{Memory: 1 << 20, CPUPeriod: 100000, CPUQuota: 50000, CpusetCpus: "0-1", PidsLimit: 9}),
		c.Update(ctx, "c1", Resources{}), // nothing to change: no call
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"--root " + root + " start c1",
		"--root " + root + " kill c1 TERM",
		"--root " + root + " delete c1",
		"--root " + root + " delete -f c1",
		"--root " + root + " pause c1",
		"--root " + root + " resume c1",
		"--root " + root + " update --memory 1048576 --cpu-period 100000 --cpu-quota 50000 --cpuset-cpus 0-1 --pids-limit 9 c1",
	}
	if got := calls(t, dir); !slices.Equal(got, want) {
		t.Errorf("command lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCreateWithLogAndConsole(t *testing.T) {
	c, dir := fake(t)
	c.Root, c.Log = "", filepath.Join(dir, "runtime.log")
	pidFile := filepath.Join(dir, "init.pid")
	var out bytes.Buffer
	err := c.Create(context.Background(), "c1", CreateOpts{Bundle: "/b", PidFile: pidFile, ConsoleSocket: "/s.sock", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	want := "--log " + c.Log + " --log-format json create --bundle /b --pid-file " + pidFile + " --console-socket /s.sock c1"
	if got := calls(t, dir); len(got) != 1 || got[0] != want {
		t.Errorf("create = %q, want %q", got, want)
	}
	if out.String() != "created on stdout\n" {
		t.Errorf("create's stdout went to %q, want the caller's writer", out.String())
	}
	if pid := readPid(pidFile); pid != 4242 {
		t.Errorf("pid file holds %d", pid)
	}
}

func TestErrorsCarryTheRuntimesMessage(t *testing.T) {
	c, dir := fake(t)
	ctx := context.Background()
	err := c.Pause(ctx, "bad")
	var e *Error
	if !errors.As(err, &e) || e.Op != "pause bad" || e.Msg != "runtime says no" || err.Error() != "pause bad: runtime says no: exit status 1" {
		t.Errorf("pause error = %#v (%v)", e, err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("pause error does not wrap the exit status: %v", err)
	}
	if _, err := c.Ps(ctx, "bad"); err == nil || !strings.Contains(err.Error(), "ps bad: runtime says no") {
		t.Errorf("ps error = %v", err)
	}
	// With a log the message is its last error, even when stderr is the
	// container's.
	c.Log = filepath.Join(dir, "runtime.log")
	err = c.Create(ctx, "bad", CreateOpts{Bundle: "/b", PidFile: filepath.Join(dir, "p"), Stderr: &bytes.Buffer{}})
	if !errors.As(err, &e) || e.Msg != "container bad: it broke" {
		t.Errorf("create error = %v, want the log's message", err)
	}
	c.Log = ""
	if err := c.Kill(ctx, "c1", "BOGUS"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("kill with a bad signal = %v, want ErrInvalidArgument", err)
	}
	if err := c.Kill(ctx, "bad", "TERM"); err == nil || errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("kill of a broken container = %v, want a plain runtime error", err)
	}
	missing := CLI{Path: filepath.Join(dir, "none")}
	if err := missing.Start(ctx, "c1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("start with a missing runtime = %v", err)
	}
}

func TestOutputsAreParsed(t *testing.T) {
	c, _ := fake(t)
	ctx := context.Background()
	pids, err := c.Ps(ctx, "c1")
	if err != nil || !slices.Equal(pids, []int{30, 10, 20}) {
		t.Errorf("ps = %v, %v", pids, err)
	}
	var data struct {
		CPU struct{ Usage int } `json:"cpu"`
	}
	if err := c.Stats(ctx, "c1", &data); err != nil || data.CPU.Usage != 7 {
		t.Errorf("stats = %+v, %v", data, err)
	}
	st, err := c.State(ctx, "c1")
	if err != nil || st.Status != specs.StateRunning || st.Pid != 4242 || st.Bundle != "/b" {
		t.Errorf("state = %+v, %v", st, err)
	}
	if v, err := c.Version(ctx); err != nil || v != "9.8.7" {
		t.Errorf("version = %q, %v", v, err)
	}
	// Output that is not the runtime's JSON names what came.
	c.Path = "/bin/echo"
	if _, err := c.Ps(ctx, "c1"); err == nil || !strings.Contains(err.Error(), `decode "--root`) {
		t.Errorf("ps of garbage = %v", err)
	}
}

func TestExec(t *testing.T) {
	c, dir := fake(t)
	var out, errb bytes.Buffer
	o := ExecOpts{
		Process:     &specs.Process{Args: []string{"true"}, Cwd: "/"},
		ProcessFile: filepath.Join(dir, "e1.json"), PidFile: filepath.Join(dir, "e1.pid"),
		Stdout: &out, Stderr: &errb,
	}
	p, err := c.Exec(context.Background(), "c1", o)
	if err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait()
	if code != 3 || err != nil {
		t.Errorf("exec's status = %d, %v; want 3 (the process's), nil", code, err)
	}
	if out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	if _, err := os.Stat(o.ProcessFile); !os.IsNotExist(err) {
		t.Errorf("process file after wait: %v", err)
	}
	want := "--root " + c.Root + " exec -p " + o.ProcessFile + " --pid-file " + o.PidFile + " c1"
	if got := calls(t, dir); got[0] != want {
		t.Errorf("exec = %q, want %q", got[0], want)
	}
}

func TestExecKillEndsTheGroup(t *testing.T) {
	c, dir := fake(t)
	o := ExecOpts{
		Process:     &specs.Process{Args: []string{"sleep"}},
		ProcessFile: filepath.Join(dir, "e.json"), PidFile: filepath.Join(dir, "e.pid"),
		Group: true, WaitDelay: time.Second,
	}
	p, err := c.Exec(context.Background(), "sleepy", o)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan int, 1)
	go func() { code, _ := p.Wait(); waited <- code }()
	for readPid(o.PidFile) == 0 {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	p.Kill()
	code := <-waited
	// The runtime (the fake's shell) is spared and passes its child's
	// death by SIGKILL on, at once.
	if code != 128+9 {
		t.Errorf("killed exec's status = %d, want 137", code)
	}
	if el := time.Since(t0); el >= killWait {
		t.Errorf("kill took %v", el)
	}
}
