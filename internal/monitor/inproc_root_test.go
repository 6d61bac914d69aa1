package monitor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// viaCLI makes the harness's monitors run pier-runtime's commands (the
// path runc and crun take) instead of driving it in-process.
var viaCLI bool

// TestCLIPath runs the suite again with the runtime's command line.
func TestCLIPath(t *testing.T) {
	rerunMainCases(t, &viaCLI, nil)
}

// rerunMainCases runs the suite's main cases, and extra, with *flag set.
func rerunMainCases(t *testing.T, flag *bool, extra map[string]func(*testing.T)) {
	*flag = true
	defer func() { *flag = false }()
	cases := map[string]func(*testing.T){
		"LogsBothStreamsAndExitCode": TestLogsBothStreamsAndExitCode,
		"MissingCommandExits127":     TestMissingCommandExits127,
		"CreateFailureIsReported":    TestCreateFailureIsReported,
		"OOMKilled":                  TestOOMKilled,
		"TtyAttachResizeAndExit":     TestTtyAttachResizeAndExit,
		"StdinOnceClosesAtEOF":       TestStdinOnceClosesAtEOF,
		"FailedCreateLeavesNothing":  TestFailedCreateLeavesNothing,
	}
	for name, f := range extra {
		cases[name] = f
	}
	for name, f := range cases {
		t.Run(name, f)
	}
}

// wrapRuntime makes Runtime a script that logs each invocation to the
// returned file and then execs the real pier-runtime. The in-process path
// keeps starting the preamble from the real binary (RuntimeExe).
func (h *harness) wrapRuntime(cfg *Config) string {
	h.t.Helper()
	calls := filepath.Join(h.dir, cfg.ID+".calls")
	wrapper := filepath.Join(h.dir, cfg.ID+".runtime")
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, h.runtime)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		h.t.Fatal(err)
	}
	cfg.Runtime = wrapper
	return calls
}

// TestInProcessRunsNoRuntimeCommand counts the pier-runtime commands a
// container's whole life runs through the monitor: none in-process, and
// create, start and delete through the command line (which shows that the
// count sees them).
func TestInProcessRunsNoRuntimeCommand(t *testing.T) {
	h := newHarness(t)
	for _, inproc := range []bool{true, false} {
		cfg := h.config(h.bundle([]string{"true"}, nil))
		calls := h.wrapRuntime(&cfg)
		if !inproc {
			cfg.RuntimeExe = ""
		}
		h.start(cfg)
		if st := waitStatus(t, cfg.StatusFile); st.ExitCode != 0 {
			t.Fatalf("status %+v, want exit 0", st)
		}
		waitFileGone(t, cfg.MonitorPidFile)
		b, err := os.ReadFile(calls)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		verbs := strings.Fields(string(b))
		switch {
		case inproc && len(b) > 0:
			t.Errorf("in-process: the monitor ran pier-runtime commands: %q", b)
		case !inproc && !(strings.Contains(string(b), "create") && strings.Contains(string(b), "start") && strings.Contains(string(b), "delete")):
			t.Errorf("command line: the wrapper logged %q (%d words), want create, start and delete", b, len(verbs))
		}
	}
}

// TestFailedCreateLeavesNothing fails a create after the runtime has made
// the state dir, the cgroup and the container's process (a bind mount of
// a missing source): no state, cgroup, mount or process may remain (the
// harness's leak check covers mounts and processes).
func TestFailedCreateLeavesNothing(t *testing.T) {
	h := newHarness(t)
	missing := filepath.Join(h.dir, "no-such-source")
	cfg := h.config(h.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/x", Type: "bind", Source: missing, Options: []string{"rbind"}})
	}))
	_, err := Start(h.monitor, filepath.Join(filepath.Dir(cfg.LogPath), "monitor.json"), cfg, nil)
	if err == nil {
		t.Fatal("a bind of a missing source started")
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name the missing source %s", err, missing)
	}
	if _, serr := os.Stat(filepath.Join(h.root, cfg.ID)); !os.IsNotExist(serr) {
		t.Errorf("the runtime's state of %s is left: %v", cfg.ID, serr)
	}
	for _, cg := range cfg.Cgroups {
		if _, serr := os.Stat(cg); !os.IsNotExist(serr) {
			t.Errorf("cgroup %s is left: %v", cg, serr)
		}
	}
	if _, serr := os.Stat(cfg.StatusFile); !os.IsNotExist(serr) {
		t.Errorf("a container that never started has a status file: %v", serr)
	}
}
