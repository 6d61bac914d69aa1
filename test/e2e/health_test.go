package e2e_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/pier-engine/pier/internal/testutil"
)

// healthEnv is a pierd with the docker CLI and a moby client on it.
type healthEnv struct {
	t   *testing.T
	d   *pierd
	cli *client.Client
}

func newHealthEnv(t *testing.T) *healthEnv {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox", "overlay")
	testutil.CheckLeaks(t)
	if _, err := os.Stat(dockers[0]); err != nil {
		t.Skipf("%s: no docker CLI here: %v", dockers[0], err)
	}
	d := startPierd(t, shortDir(t))
	cli, err := client.New(client.WithHost(d.host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &healthEnv{t: t, d: d, cli: cli}
}

func (e *healthEnv) docker(args ...string) (int, string, string) {
	return run(e.t, dockers[0], append([]string{"--host", e.d.host}, args...)...)
}

// runDetached runs `sleep 1000` with args, the image last, and removes
// the container when the test ends.
func (e *healthEnv) runDetached(name string, args ...string) {
	e.t.Helper()
	argv := append(append([]string{"run", "-d", "--name", name}, args...), "sleep", "1000")
	if code, out, errs := e.docker(argv...); code != 0 {
		e.t.Fatalf("docker %s = %d %q %q", strings.Join(argv, " "), code, out, errs)
	}
	e.t.Cleanup(func() { e.docker("rm", "-f", name) })
}

func (e *healthEnv) health(name string) *container.Health {
	e.t.Helper()
	res, err := e.cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
	return res.Container.State.Health
}

// waitStatus waits for name's health to be want and returns it.
func (e *healthEnv) waitStatus(name string, want container.HealthStatus, timeout time.Duration) *container.Health {
	e.t.Helper()
	var h *container.Health
	if !waitFor(timeout, func() bool { h = e.health(name); return h != nil && h.Status == want }) {
		e.t.Fatalf("%s: health %+v, want %s within %v", name, h, want, timeout)
	}
	return h
}

// psStatus is name's STATUS in docker ps.
func (e *healthEnv) psStatus(name string) string {
	_, out, _ := e.docker("ps", "--filter", "name="+name, "--format", "{{.Status}}")
	return strings.TrimSpace(out)
}

// TestHealthcheck: a failing probe makes the container unhealthy after
// --health-retries, a passing one healthy; ps, inspect's log and the
// events stream show it.
func TestHealthcheck(t *testing.T) {
	e := newHealthEnv(t)
	since := fmt.Sprint(time.Now().Unix() - 1)
	e.runDetached("hc", "--health-cmd", "test -f /tmp/ok && echo fine", "--health-interval", "200ms", "--health-retries", "2", "busybox")
	if h := e.health("hc"); h == nil || h.Status != container.Starting && h.Status != container.Unhealthy {
		t.Errorf("health right after run = %+v", h)
	}
	h := e.waitStatus("hc", container.Unhealthy, 5*time.Second)
	if h.FailingStreak < 2 || len(h.Log) < 2 || h.Log[len(h.Log)-1].ExitCode != 1 {
		t.Errorf("unhealthy: %+v", h)
	}
	if st := e.psStatus("hc"); !strings.HasSuffix(st, "(unhealthy)") {
		t.Errorf("ps status = %q", st)
	}
	if code, out, errs := e.docker("exec", "hc", "touch", "/tmp/ok"); code != 0 {
		t.Fatalf("exec touch = %d %q %q", code, out, errs)
	}
	h = e.waitStatus("hc", container.Healthy, 5*time.Second)
	last := h.Log[len(h.Log)-1]
	if h.FailingStreak != 0 || last.ExitCode != 0 || last.Output != "fine\n" || last.End.Before(last.Start) {
		t.Errorf("healthy: streak %d, last %+v", h.FailingStreak, last)
	}
	if st := e.psStatus("hc"); !strings.HasSuffix(st, "(healthy)") {
		t.Errorf("ps status = %q", st)
	}
	waitFor(2*time.Second, func() bool { return len(e.health("hc").Log) == 5 })
	if n := len(e.health("hc").Log); n != 5 {
		t.Errorf("log has %d results, want the last 5", n)
	}
	until := fmt.Sprint(time.Now().Unix() + 1)
	_, out, errs := e.docker("events", "--since", since, "--until", until, "--filter", "container=hc", "--format", "{{.Action}}")
	for _, want := range []string{"health_status: unhealthy", "health_status: healthy",
		"exec_start: /bin/sh -c test -f /tmp/ok && echo fine"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("events lack %q:\n%s%s", want, out, errs)
		}
	}
}

// TestHealthcheckTimeout: a probe that outlives --health-timeout fails
// with dockerd's message, and its whole process group goes: the sleep
// its shell started does not pile up in the container.
func TestHealthcheckTimeout(t *testing.T) {
	e := newHealthEnv(t)
	e.runDetached("slow", "--health-cmd", "echo begun; sleep 30; echo never", "--health-timeout", "300ms",
		"--health-interval", "100ms", "--health-retries", "2", "busybox")
	h := e.waitStatus("slow", container.Unhealthy, 5*time.Second)
	last := h.Log[len(h.Log)-1]
	if last.ExitCode != -1 || last.Output != "Health check exceeded timeout (300ms): begun\n" {
		t.Errorf("timed-out probe = %+v", last)
	}
	if d := last.End.Sub(last.Start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("timed-out probe took %v", d)
	}
	// At most the probe under way may be seen; killed ones would add up.
	for range 5 {
		code, out, errs := e.docker("top", "slow")
		if code != 0 {
			t.Fatalf("top = %d %q", code, errs)
		}
		if n := len(probeSleep.FindAllString(out, -1)); n > 1 {
			t.Fatalf("%d probe sleeps in the container:\n%s", n, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// probeSleep is a line of docker top whose CMD is the probe's sleep.
var probeSleep = regexp.MustCompile(`(?m)\ssleep 30$`)

// TestHealthcheckStartPeriod: failures in the start period do not count
// and come every start interval; after it they make the container
// unhealthy.
func TestHealthcheckStartPeriod(t *testing.T) {
	e := newHealthEnv(t)
	start := time.Now()
	e.runDetached("sp", "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1",
		"--health-start-period", "1500ms", "--health-start-interval", "100ms", "busybox")
	time.Sleep(900 * time.Millisecond)
	h := e.health("sp")
	if time.Since(start) < 1400*time.Millisecond {
		if h == nil || h.Status != container.Starting || h.FailingStreak != 0 || len(h.Log) < 2 {
			t.Errorf("in the start period: %+v", h)
		}
		if st := e.psStatus("sp"); !strings.HasSuffix(st, "(health: starting)") {
			t.Errorf("ps status = %q", st)
		}
	}
	e.waitStatus("sp", container.Unhealthy, 5*time.Second)
}

// TestHealthcheckFromImage: an image's HEALTHCHECK runs, a flag
// overrides one field of it, and --no-healthcheck turns it off.
func TestHealthcheckFromImage(t *testing.T) {
	e := newHealthEnv(t)
	e.loadHealthImage("hcimg:latest", map[string]any{
		"Test": []string{"CMD-SHELL", "test -f /tmp/ok"}, "Interval": int64(100 * time.Millisecond), "Retries": 1})
	t.Cleanup(func() { e.docker("rmi", "-f", "hcimg:latest") })

	e.runDetached("img", "hcimg:latest")
	e.waitStatus("img", container.Unhealthy, 5*time.Second)
	e.docker("exec", "img", "touch", "/tmp/ok")
	e.waitStatus("img", container.Healthy, 5*time.Second)

	// The image's test with the container's retries: 50 failures to go.
	e.runDetached("retries", "--health-retries", "50", "hcimg:latest")
	time.Sleep(700 * time.Millisecond)
	if h := e.health("retries"); h == nil || h.Status != container.Starting || h.FailingStreak < 2 {
		t.Errorf("image test, container retries: %+v", h)
	}

	e.runDetached("off", "--no-healthcheck", "hcimg:latest")
	time.Sleep(300 * time.Millisecond)
	if h := e.health("off"); h != nil {
		t.Errorf("--no-healthcheck: health %+v", h)
	}
	if st := e.psStatus("off"); strings.Contains(st, "(") {
		t.Errorf("--no-healthcheck: ps status %q", st)
	}
}

// loadHealthImage docker-loads busybox again as ref with hc as its
// config's Healthcheck: a classic docker save archive whose config is
// busybox's with that one field added.
func (e *healthEnv) loadHealthImage(ref string, hc map[string]any) {
	t := e.t
	t.Helper()
	saved := filepath.Join(t.TempDir(), "busybox.tar")
	if code, out, errs := e.docker("save", "-o", saved, "busybox:latest"); code != 0 {
		t.Fatalf("save = %d %q %q", code, out, errs)
	}
	files := readTar(t, saved)
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	var layers []struct{ Layers []string }
	json.Unmarshal(files["manifest.json"], &layers)
	var cfg map[string]any
	if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("config %s: %v", manifest[0].Config, err)
	}
	cfg["config"].(map[string]any)["Healthcheck"] = hc
	newCfg, _ := json.Marshal(cfg)
	newManifest, _ := json.Marshal([]map[string]any{{"Config": "hc.json", "RepoTags": []string{ref}, "Layers": layers[0].Layers}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	add("manifest.json", newManifest)
	add("hc.json", newCfg)
	for _, l := range layers[0].Layers {
		add(l, files[l])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "hc.tar")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := e.docker("load", "-i", archive); code != 0 {
		t.Fatalf("load = %d %q %q", code, out, errs)
	}
}

// readTar reads the regular files of a tar archive by name.
func readTar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
}

// TestHealthcheckPaused: a paused container is not probed, as with
// dockerd (a probe would freeze with it); unpaused, probing goes on.
func TestHealthcheckPaused(t *testing.T) {
	e := newHealthEnv(t)
	e.runDetached("pz", "--health-cmd", "true", "--health-interval", "100ms", "busybox")
	e.waitStatus("pz", container.Healthy, 5*time.Second)
	if code, out, errs := e.docker("pause", "pz"); code != 0 {
		t.Fatalf("pause = %d %q %q", code, out, errs)
	}
	time.Sleep(300 * time.Millisecond) // a probe under way ends
	before := e.health("pz")
	time.Sleep(600 * time.Millisecond)
	after := e.health("pz")
	if n, m := len(before.Log), len(after.Log); n != m || !before.Log[n-1].Start.Equal(after.Log[m-1].Start) {
		t.Errorf("probed while paused: last %v, then %v", before.Log[n-1].Start, after.Log[m-1].Start)
	}
	if code, out, errs := e.docker("unpause", "pz"); code != 0 {
		t.Fatalf("unpause = %d %q %q", code, out, errs)
	}
	last := after.Log[len(after.Log)-1].Start
	if !waitFor(3*time.Second, func() bool { h := e.health("pz"); return h.Log[len(h.Log)-1].Start.After(last) }) {
		t.Error("no probe after unpause")
	}
}

// TestHealthcheckAcrossPierdKill: a pierd killed with -9 and started
// again shows the health it had and goes on probing the container.
func TestHealthcheckAcrossPierdKill(t *testing.T) {
	e := newHealthEnv(t)
	dir := filepath.Dir(e.d.sock)
	e.runDetached("hk", "--health-cmd", "test ! -f /tmp/bad", "--health-interval", "100ms", "--health-retries", "1", "busybox")
	e.waitStatus("hk", container.Healthy, 5*time.Second)
	if err := e.d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-e.d.done
	e.d = startPierd(t, dir)
	cli, err := client.New(client.WithHost(e.d.host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	e.cli = cli
	t.Cleanup(func() { e.docker("rm", "-f", "hk") }) // before this pierd stops
	if h := e.health("hk"); h == nil || h.Status != container.Healthy || len(h.Log) == 0 {
		t.Errorf("health after the restart = %+v", h)
	}
	e.docker("exec", "hk", "touch", "/tmp/bad")
	e.waitStatus("hk", container.Unhealthy, 5*time.Second)
}

// TestHealthcheckFilterAndLimits: ps --filter health=…, and create
// refuses an interval under dockerd's 1 ms minimum in dockerd's words.
func TestHealthcheckFilterAndLimits(t *testing.T) {
	e := newHealthEnv(t)
	e.runDetached("good", "--health-cmd", "true", "--health-interval", "100ms", "busybox")
	e.runDetached("bad", "--health-cmd", "false", "--health-interval", "100ms", "--health-retries", "1", "busybox")
	e.runDetached("plain", "busybox")
	e.waitStatus("good", container.Healthy, 5*time.Second)
	e.waitStatus("bad", container.Unhealthy, 5*time.Second)
	for filter, want := range map[string]string{"healthy": "good", "unhealthy": "bad", "none": "plain", "starting": ""} {
		code, out, errs := e.docker("ps", "--filter", "health="+filter, "--format", "{{.Names}}")
		if code != 0 || strings.TrimSpace(out) != want {
			t.Errorf("ps --filter health=%s = %d %q %q, want %q", filter, code, out, errs, want)
		}
	}
	if code, _, errs := e.docker("ps", "--filter", "health=sick"); code == 0 ||
		!strings.Contains(errs, "Unrecognised filter value for health: sick") {
		t.Errorf("ps --filter health=sick = %d %q", code, errs)
	}
	if code, _, errs := e.docker("create", "--health-cmd", "true", "--health-interval", "500us", "busybox"); code == 0 ||
		!strings.Contains(errs, "Interval in Healthcheck cannot be less than 1ms") {
		t.Errorf("create --health-interval 500us = %d %q", code, errs)
	}
}
