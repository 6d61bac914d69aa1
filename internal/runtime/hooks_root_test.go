package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/testutil"
)

var hookPath = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// logHook appends its stage to dir/log and keeps its stdin as
// dir/<stage>.json. /bin/sh exists on the host and in the busybox rootfs,
// so the same hook works where startContainer runs: in the container.
func logHook(dir, stage string) specs.Hook {
	script := "echo " + stage + " >>" + dir + "/log; cat >" + dir + "/" + stage + ".json"
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Env: hookPath}
}

func TestHooksRunInOrderWithTheState(t *testing.T) {
	r := newRT(t)
	dir := t.TempDir()
	// prestart runs at start (the moment runtime-spec 1.0 gave it, which
	// the runtime-tools suite checks), the others where 1.3 puts them.
	stages := []string{"createRuntime", "createContainer", "prestart", "startContainer", "poststart", "poststop"}
	b := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{logHook(dir, "prestart")},
			CreateRuntime:   []specs.Hook{logHook(dir, "createRuntime")},
			CreateContainer: []specs.Hook{logHook(dir, "createContainer")},
			StartContainer:  []specs.Hook{logHook(dir, "startContainer")},
			Poststart:       []specs.Hook{logHook(dir, "poststart")},
			Poststop:        []specs.Hook{logHook(dir, "poststop")},
		}
		// startContainer writes from inside the container.
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dir, Source: dir, Type: "bind", Options: []string{"rbind", "rw"}})
	})
	log := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		return strings.Join(strings.Fields(string(b)), ",")
	}
	id := r.id()
	r.ok("create", "--bundle", b, id)
	if got, want := log(), strings.Join(stages[:2], ","); got != want {
		t.Errorf("hooks after create: %s, want %s", got, want)
	}
	r.ok("start", id)
	if got, want := log(), strings.Join(stages[:5], ","); got != want {
		t.Errorf("hooks after start: %s, want %s", got, want)
	}
	waitFor(t, "the program to exit", func() bool { return r.state(id).Status == "stopped" })
	r.ok("delete", id)
	if got, want := log(), strings.Join(stages, ","); got != want {
		t.Errorf("hooks after delete: %s, want %s", got, want)
	}
	for _, stage := range stages {
		var st specs.State
		in, err := os.ReadFile(filepath.Join(dir, stage+".json"))
		if err != nil {
			t.Errorf("%s hook: %v", stage, err)
			continue
		}
		if err := json.Unmarshal(in, &st); err != nil || st.ID != id || st.Bundle != b {
			t.Errorf("%s hook got state %q (%v), want id %s and bundle %s", stage, in, err, id, b)
		}
	}
	var st specs.State
	b2, _ := os.ReadFile(filepath.Join(dir, "poststop.json"))
	if json.Unmarshal(b2, &st) == nil && st.Status != "stopped" {
		t.Errorf("poststop hook got status %q, want stopped", st.Status)
	}
	// `true` may be gone by the time poststart runs: the hook still gets
	// the state as of the start.
	b4, _ := os.ReadFile(filepath.Join(dir, "poststart.json"))
	if json.Unmarshal(b4, &st) == nil && (st.Status != "running" || st.Pid <= 0) {
		t.Errorf("poststart hook got status %q pid %d, want running and the container's pid", st.Status, st.Pid)
	}
	b3, _ := os.ReadFile(filepath.Join(dir, "createRuntime.json"))
	if json.Unmarshal(b3, &st) == nil && (st.Status != "creating" || st.Pid <= 0) {
		t.Errorf("createRuntime hook got status %q pid %d, want creating and the container's pid", st.Status, st.Pid)
	}
}

func TestFailingHookFailsCreate(t *testing.T) {
	r := newRT(t)
	timeout := 1
	cases := []struct {
		name string
		hook specs.Hook
		want []string
	}{
		{"exit 3", specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo boom >&2; exit 3"}, Env: hookPath},
			[]string{"createRuntime", "/bin/sh", "boom"}},
		{"timeout", specs.Hook{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &timeout},
			[]string{"createRuntime", "/bin/sleep", "timed out"}},
	}
	for _, c := range cases {
		b := testutil.Bundle(t, []string{"true"}, func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{c.hook}}
		})
		id := r.id()
		t0 := time.Now()
		_, stderr, code := r.run("create", "--bundle", b, id)
		if code == 0 {
			t.Errorf("%s: create succeeded", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: create said %q, want it to mention %q", c.name, stderr, w)
			}
		}
		// The bound proves the 1 s timeout ended the 30 s hook; it is loose
		// because the cgroup-v2 VM emulates the CPU and takes ~5 s here.
		if d := time.Since(t0); d > 15*time.Second {
			t.Errorf("%s: create took %v", c.name, d)
		}
		assertGone(t, r, id)
	}
}
