package containerinit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "data")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/nonexistent:" + dir}
	if got, err := lookPath("tool", env); err != nil || got != exe {
		t.Errorf("lookPath(tool) = %q, %v", got, err)
	}
	if _, err := lookPath("missing", env); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "executable file not found") {
		t.Errorf("missing program: %v", err)
	}
	if _, err := lookPath(plain, env); !errors.Is(err, unix.EACCES) {
		t.Errorf("non-executable file: %v", err)
	}
	if _, err := lookPath(dir, env); !errors.Is(err, unix.EACCES) {
		t.Errorf("a directory: %v", err)
	}
}

func TestExecFailureCodes(t *testing.T) {
	p := &prepared{}
	if p.execFailureCode(unix.ENOENT) != 127 || p.execFailureCode(unix.EACCES) != 126 {
		t.Error("exit codes for a missing or unusable program are not the shell's 127/126")
	}
}

func TestWithHomeKeepsAGivenHome(t *testing.T) {
	env := withHome([]string{"HOME=/h", "A=b"}, 0)
	if len(env) != 2 || env[0] != "HOME=/h" {
		t.Errorf("env %v", env)
	}
	if env := withHome([]string{"A=b"}, 4294967294); env[len(env)-1] != "HOME=/" {
		t.Errorf("an unknown uid gets HOME=%q, want /", env[len(env)-1])
	}
}

func TestCheckRlimitsRejectsUnknownTypes(t *testing.T) {
	if hasCap(unix.CAP_SYS_RESOURCE) {
		t.Skip("with CAP_SYS_RESOURCE nothing is checked before applying")
	}
	err := checkRlimits([]specs.POSIXRlimit{{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1}})
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_BOGUS") {
		t.Errorf("unknown rlimit: %v", err)
	}
}

func TestPersonalityDomains(t *testing.T) {
	if err := setPersonality(&specs.LinuxPersonality{Domain: "LINUX_BOGUS"}); err == nil {
		t.Error("an unknown personality domain was accepted")
	}
	if err := setPersonality(nil); err != nil {
		t.Error(err)
	}
}
