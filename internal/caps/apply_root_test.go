package caps

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// helperMain applies the sets on its locked thread and prints that
// thread's Cap* lines of /proc/thread-self/status.
func helperMain(js string) int {
	runtime.LockOSThread()
	var c specs.LinuxCapabilities
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := Parse(&c)
	if err == nil {
		err = s.DropBounding()
	}
	if err == nil {
		err = s.Apply()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Cap") {
			fmt.Println(line)
		}
	}
	return 0
}

func runHelper(t *testing.T, c specs.LinuxCapabilities) (map[string]uint64, string, error) {
	t.Helper()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+string(js))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), err
	}
	got := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("status line %q: %v", line, err)
		}
		got[k] = n
	}
	return got, "", nil
}

func TestApplyShowsInProcStatus(t *testing.T) {
	testutil.RequiresRoot(t)
	c := specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_SETPCAP"},
		Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	}
	got, stderr, err := runHelper(t, c)
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	s, err := Parse(&c)
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]uint64{
		"CapBnd": s.Bounding, "CapEff": s.Effective, "CapPrm": s.Permitted, "CapInh": s.Inheritable, "CapAmb": s.Ambient,
	} {
		if got[field] != want {
			t.Errorf("%s = %v, want %v", field, Names(got[field]), Names(want))
		}
	}
}

func TestApplyRefusesEffectiveBeyondPermitted(t *testing.T) {
	testutil.RequiresRoot(t)
	_, stderr, err := runHelper(t, specs.LinuxCapabilities{
		Bounding:  []string{"CAP_KILL", "CAP_CHOWN"},
		Effective: []string{"CAP_KILL", "CAP_CHOWN"},
		Permitted: []string{"CAP_KILL"},
	})
	if err == nil {
		t.Fatal("capset accepted an effective set beyond the permitted one")
	}
	if !strings.Contains(stderr, "capset: operation not permitted (effective has [CAP_CHOWN]") {
		t.Errorf("stderr %q", stderr)
	}
}

// An ambient capability that is not also inheritable cannot be raised; like
// runc, Apply leaves it out (Unraised names it) rather than failing, since
// `runc spec` configs ask for exactly that.
func TestApplyLeavesOutAmbientWithoutInheritable(t *testing.T) {
	testutil.RequiresRoot(t)
	got, stderr, err := runHelper(t, specs.LinuxCapabilities{
		Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Permitted: []string{"CAP_KILL", "CAP_CHOWN"},
		Inheritable: []string{"CAP_CHOWN"}, Ambient: []string{"CAP_KILL", "CAP_CHOWN"},
	})
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	if want := uint64(1) << unix.CAP_CHOWN; got["CapAmb"] != want {
		t.Errorf("CapAmb = %v, want only CAP_CHOWN", Names(got["CapAmb"]))
	}
}
