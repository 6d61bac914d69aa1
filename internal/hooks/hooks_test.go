package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunPassesStateAndArgs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$1"; echo "$0 $FOO" >> "$1"`, "argzero", out}, Env: []string{"FOO=bar"}}
	if err := Run("prestart", []specs.Hook{h}, &specs.State{ID: "c1", Status: "creating", Pid: 42}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"id":"c1"`) || !strings.Contains(string(b), `"pid":42`) || !strings.HasSuffix(string(b), "argzero bar\n") {
		t.Errorf("hook saw %q", b)
	}
}

func TestRunStopsAtFailureAndNamesHook(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	hs := []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo boom >&2; exit 3"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + out}},
	}
	err := Run("poststart", hs, &specs.State{})
	if err == nil || !strings.Contains(err.Error(), "poststart hook 0 (/bin/sh)") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the hook after the failed one ran")
	}
}

func TestTimeout(t *testing.T) {
	one := 1
	start := time.Now()
	err := Run("createRuntime", []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}, &specs.State{})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
}

func TestValidate(t *testing.T) {
	zero := 0
	cases := map[string]*specs.Hooks{
		"hooks.prestart[0].path":    {Prestart: []specs.Hook{{Path: "rel"}}},
		"hooks.poststop[1].timeout": {Poststop: []specs.Hook{{Path: "/a"}, {Path: "/b", Timeout: &zero}}},
	}
	for field, h := range cases {
		if err := Validate(h); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("want error naming %s, got %v", field, err)
		}
	}
	if err := Validate(&specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true"}}}); err != nil {
		t.Error(err)
	}
}

func TestRunAllContinuesPastFailures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ran")
	hs := []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 1"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + out}},
		{Path: "/nonexistent"},
	}
	errs := RunAll("poststop", hs, &specs.State{})
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "poststop hook 0") || !strings.Contains(errs[1].Error(), "poststop hook 2") {
		t.Fatalf("errors %v", errs)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error("the hook after a failed one did not run")
	}
}
