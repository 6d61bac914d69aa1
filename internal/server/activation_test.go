package server

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestActivationFDs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		n       int
		names   []string
		wantErr bool
	}{
		{name: "not activated", env: map[string]string{}},
		{name: "another pid", env: map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "1"}},
		{name: "one", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "1"}, n: 1, names: []string{"LISTEN_FD_3"}},
		{name: "named", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "api:other"}, n: 2, names: []string{"api", "other"}},
		{name: "bad count", env: map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "x"}, wantErr: true},
	} {
		n, names, err := activationFDs(func(k string) string { return tc.env[k] }, 42)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
		}
		if n != tc.n || strings.Join(names, ",") != strings.Join(tc.names, ",") {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, n, names, tc.n, tc.names)
		}
	}
}

// activationChildEnv makes TestActivationChild act as the activated process.
const activationChildEnv = "PIER_TEST_ACTIVATION_CHILD"

// TestActivationChild runs in a re-executed test binary: it takes the
// passed socket and answers one connection with the number it found.
func TestActivationChild(t *testing.T) {
	if os.Getenv(activationChildEnv) == "" {
		t.Skip("helper for TestActivation, run in a child process")
	}
	ls, err := ActivationListeners()
	if err != nil {
		t.Fatal(err)
	}
	if v := os.Getenv("LISTEN_FDS"); v != "" {
		t.Fatalf("LISTEN_FDS=%q left in the environment", v)
	}
	if len(ls) == 0 {
		os.Stdout.WriteString("listeners=0\n")
		return
	}
	// A listener taken by mistake must fail the test, not hang it.
	ls[0].(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ls[0].Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("listeners=1\n"))
	c.Close()
}

// activate starts the test binary as systemd would: the socket as fd 3 and
// LISTEN_PID set to the child's own pid (sh's $$, kept by exec) or to pid.
func activate(t *testing.T, pid string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=${PID:-$$} exec "$0" -test.run='^TestActivationChild$' -test.count=1`, os.Args[0])
	cmd.Env = append(os.Environ(), activationChildEnv+"=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=api", "PID="+pid)
	cmd.ExtraFiles = []*os.File{f}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, path, out
}

func TestActivation(t *testing.T) {
	cmd, path, out := activate(t, "")
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from the activated child: %v (child said %s)", err, out)
	}
	if line != "listeners=1\n" {
		t.Errorf("child answered %q", line)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, out)
	}
}

func TestActivationOtherPid(t *testing.T) {
	cmd, _, out := activate(t, "1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "listeners=0") {
		t.Errorf("LISTEN_PID for another process was not ignored:\n%s", out)
	}
}
