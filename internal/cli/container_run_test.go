package cli

import (
	"slices"
	"strings"
	"testing"
)

// index is where the first call starting with prefix was made, or -1.
func index(calls []string, prefix string) int {
	return slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

func TestRunPropagatesExitCodeAndOutput(t *testing.T) {
	f := &fakeDocker{exitCode: 3, stdout: "hello\n", stderr: "oops\n"}
	host := startFakeDocker(t, f)
	t.Setenv("PIER_TEST_FROM_ENV", "yes")
	code, out, errs := run(t, "-H", host, "run", "--name", "web", "-e", "A=1", "-e", "PIER_TEST_FROM_ENV", "-e", "PIER_TEST_UNSET_XYZ",
		"-m", "64m", "--pids-limit", "10", "--cpus", "1.5", "--init=false", "-w", "/tmp", "-u", "1000:1000",
		"--network", "none", "--read-only", "--tmpfs", "/run:size=1m", "-v", "/h:/c:ro", "-v", "/anon",
		"--entrypoint", "", "--stop-signal", "SIGINT", "--stop-timeout", "5", "--label", "k=v",
		"busybox", "sh", "-c", "echo hello; exit 3")
	if code != 3 {
		t.Fatalf("run = %d, want 3; stderr %q", code, errs)
	}
	if out != "hello\n" || !strings.HasPrefix(errs, "oops\n") {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
	req := f.lastCreate(t)
	cfg, hc := req.Config, req.HostConfig
	if cfg.Image != "busybox" || !slices.Equal(cfg.Cmd, []string{"sh", "-c", "echo hello; exit 3"}) {
		t.Errorf("image %q cmd %q", cfg.Image, cfg.Cmd)
	}
	if !slices.Equal(cfg.Env, []string{"A=1", "PIER_TEST_FROM_ENV=yes"}) {
		t.Errorf("env %q", cfg.Env)
	}
	if cfg.WorkingDir != "/tmp" || cfg.User != "1000:1000" || cfg.StopSignal != "SIGINT" ||
		cfg.StopTimeout == nil || *cfg.StopTimeout != 5 || cfg.Labels["k"] != "v" {
		t.Errorf("config %+v", cfg)
	}
	if !slices.Equal(cfg.Entrypoint, []string{""}) {
		t.Errorf("entrypoint %q, want [\"\"] to clear the image's", cfg.Entrypoint)
	}
	if _, ok := cfg.Volumes["/anon"]; !ok || !slices.Equal(hc.Binds, []string{"/h:/c:ro"}) {
		t.Errorf("volumes %v binds %v", cfg.Volumes, hc.Binds)
	}
	if hc.Memory != 64<<20 || hc.NanoCPUs != 1.5e9 || hc.PidsLimit == nil || *hc.PidsLimit != 10 {
		t.Errorf("resources memory %d cpus %d pids %v", hc.Memory, hc.NanoCPUs, hc.PidsLimit)
	}
	if hc.Init == nil || *hc.Init || hc.NetworkMode != "none" || !hc.ReadonlyRootfs || hc.Tmpfs["/run"] != "size=1m" || hc.AutoRemove {
		t.Errorf("host config %+v", hc)
	}
	calls := f.recorded()
	create, attach := index(calls, "POST /containers/create?name=web"), index(calls, "POST /containers/web/attach")
	wait, start := index(calls, "POST /containers/"+fakeID+"/wait?condition=next-exit"), index(calls, "POST /containers/"+fakeID+"/start")
	attach = max(attach, index(calls, "POST /containers/"+fakeID+"/attach?stderr=1&stdout=1&stream=1"))
	if create != 0 || attach < 0 || wait < 0 || start < 0 || start < attach || start < wait {
		t.Errorf("calls out of docker's order (create, attach, wait, start): %q", calls)
	}
	if index(calls, "DELETE") >= 0 {
		t.Errorf("run without --rm removed the container: %q", calls)
	}
}

func TestRunDefaultsLeaveFieldsUnset(t *testing.T) {
	f := &fakeDocker{stdout: "ok\n"}
	host := startFakeDocker(t, f)
	if code, out, errs := run(t, "-H", host, "run", "busybox"); code != 0 || out != "ok\n" {
		t.Fatalf("run = %d %q %q", code, out, errs)
	}
	req := f.lastCreate(t)
	if req.HostConfig.Init != nil || req.HostConfig.PidsLimit != nil || req.Config.Cmd != nil ||
		req.Config.Entrypoint != nil || req.Config.StopTimeout != nil || req.HostConfig.NanoCPUs != 0 {
		t.Errorf("unset flags reached the daemon: %+v %+v", req.Config, req.HostConfig)
	}
}

func TestRunRemove(t *testing.T) {
	f := &fakeDocker{exitCode: 0}
	host := startFakeDocker(t, f)
	if code, _, errs := run(t, "-H", host, "run", "--rm", "busybox", "true"); code != 0 {
		t.Fatalf("run --rm = %d: %s", code, errs)
	}
	if !f.lastCreate(t).HostConfig.AutoRemove {
		t.Error("--rm did not set AutoRemove")
	}
	// The daemon removes it; the CLI waits for that, as docker's does.
	calls := f.recorded()
	if index(calls, "POST /containers/"+fakeID+"/wait?condition=removed") < 0 || index(calls, "DELETE") >= 0 {
		t.Errorf("--rm: want a wait for removal and no DELETE: %q", calls)
	}
}

func TestRunDetach(t *testing.T) {
	f := &fakeDocker{}
	host := startFakeDocker(t, f)
	code, out, errs := run(t, "-H", host, "run", "-d", "busybox", "sleep", "1000")
	if code != 0 || out != fakeID+"\n" {
		t.Fatalf("run -d = %d %q %q", code, out, errs)
	}
	calls := f.recorded()
	if index(calls, "POST /containers/"+fakeID+"/start") < 0 || index(calls, "POST /containers/"+fakeID+"/attach") >= 0 ||
		index(calls, "POST /containers/"+fakeID+"/wait") >= 0 {
		t.Errorf("run -d calls %q", calls)
	}
	if req := f.lastCreate(t); req.Config.AttachStdout || req.Config.AttachStderr {
		t.Errorf("run -d asked to attach: %+v", req.Config)
	}
}

func TestRunUnknownImage(t *testing.T) {
	host := startFakeDocker(t, &fakeDocker{})
	code, _, errs := run(t, "-H", host, "run", "nosuch")
	if code != ExitDaemon {
		t.Errorf("run of a missing image = %d, want %d", code, ExitDaemon)
	}
	if !strings.HasPrefix(errs, "Unable to find image 'nosuch:latest' locally\n") || !strings.Contains(errs, "No such image") {
		t.Errorf("stderr %q", errs)
	}
}

func TestRunAndCreateFailuresExit125(t *testing.T) {
	host := startFakeDocker(t, &fakeDocker{})
	for _, args := range [][]string{
		{"run", "broken"}, {"create", "broken"}, {"run", "--memory", "lots", "busybox"},
		{"run", "--no-such-flag", "busybox"}, {"create"},
	} {
		code, _, errs := run(t, append([]string{"-H", host}, args...)...)
		if code != ExitDaemon {
			t.Errorf("pier %q = %d, want %d (%s)", args, code, ExitDaemon, errs)
		}
	}
	if code, _, errs := run(t, "-H", host, "run", "broken"); !strings.Contains(errs, "no space left on device") {
		t.Errorf("run of broken = %d, stderr %q", code, errs)
	}
}

func TestCreate(t *testing.T) {
	f := &fakeDocker{}
	host := startFakeDocker(t, f)
	code, out, errs := run(t, "-H", host, "create", "--name", "web", "--init", "busybox", "sleep", "5")
	if code != 0 || out != fakeID+"\n" {
		t.Fatalf("create = %d %q %q", code, out, errs)
	}
	req := f.lastCreate(t)
	if req.HostConfig.Init == nil || !*req.HostConfig.Init || !slices.Equal(req.Config.Cmd, []string{"sleep", "5"}) {
		t.Errorf("create request %+v %+v", req.Config, req.HostConfig)
	}
	if calls := f.recorded(); len(calls) != 1 || calls[0] != "POST /containers/create?name=web" {
		t.Errorf("create calls %q", calls)
	}
}
