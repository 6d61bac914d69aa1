package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/pier-engine/pier/internal/errdefs"
)

// runningFake makes container "web" look running as this test process,
// under a runtime script that logs its verbs and lists this pid for ps.
func runningFake(t *testing.T) (*Daemon, string, string) {
	t.Helper()
	d := newContainerDaemon(t)
	id := create(t, d, "web", container.Config{})
	log := filepath.Join(t.TempDir(), "verbs")
	script := fmt.Sprintf("#!/bin/sh\necho \"$3\" >> %s\n[ \"$3\" = ps ] && echo '[%d]'\nexit 0\n", log, os.Getpid())
	d.runtime = filepath.Join(t.TempDir(), "pier-runtime")
	if err := os.WriteFile(d.runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	setRunning(t, d, id, time.Now().UTC())
	return d, id, log
}

func setRunning(t *testing.T, d *Daemon, id string, started time.Time) {
	t.Helper()
	var r containerRecord
	if err := d.md.Update(containerKind, id, &r, func() error {
		r.State, r.Pid, r.StartedAt = container.StateRunning, os.Getpid(), started
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestPauseUnpause(t *testing.T) {
	d, id, log := runningFake(t)
	ctx := context.Background()
	if err := d.ContainerUnpause(ctx, "web"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("unpause of a running container: %v, want conflict", err)
	}
	if err := d.ContainerPause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerPause(ctx, "web"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("second pause: %v, want conflict", err)
	}
	c, err := d.ContainerInspect(ctx, "web")
	if err != nil || c.State.Status != container.StatePaused || !c.State.Paused || !c.State.Running {
		t.Errorf("inspect paused = %+v (%v)", c.State, err)
	}
	list, err := d.ContainerList(ctx, false, nil)
	if err != nil || len(list) != 1 || list[0].State != container.StatePaused || !strings.HasSuffix(list[0].Status, "(Paused)") {
		t.Errorf("ps of paused = %+v (%v)", list, err)
	}
	if err := d.ContainerUnpause(ctx, id[:6]); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.ContainerInspect(ctx, "web"); c.State.Status != container.StateRunning || c.State.Paused {
		t.Errorf("inspect after unpause = %+v", c.State)
	}
	if verbs, _ := os.ReadFile(log); string(verbs) != "pause\nresume\n" {
		t.Errorf("runtime verbs %q, want pause, resume", verbs)
	}
}

func TestPausedMarkerOfEarlierRunIsStale(t *testing.T) {
	d, id, _ := runningFake(t)
	if err := d.ContainerPause(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	setRunning(t, d, id, time.Now().UTC().Add(time.Second)) // a new run
	if c, _ := d.ContainerInspect(context.Background(), id); c.State.Status != container.StateRunning {
		t.Errorf("new run shows %q, want running", c.State.Status)
	}
}

func TestPauseNeedsRunning(t *testing.T) {
	d := newContainerDaemon(t)
	create(t, d, "idle", container.Config{})
	if err := d.ContainerPause(context.Background(), "idle"); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("pause of a created container: %v, want conflict", err)
	}
	if _, err := d.ContainerTop(context.Background(), "idle", ""); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("top of a created container: %v, want conflict", err)
	}
}

func TestRename(t *testing.T) {
	d := newContainerDaemon(t)
	ctx := context.Background()
	id := create(t, d, "web", container.Config{})
	create(t, d, "db", container.Config{})
	for name, kind := range map[string]error{"db": errdefs.ErrConflict, "web": errdefs.ErrInvalidArgument,
		"bad name": errdefs.ErrInvalidArgument, "": errdefs.ErrInvalidArgument} {
		if err := d.ContainerRename(ctx, "web", name); !errors.Is(err, kind) {
			t.Errorf("rename to %q: %v, want %v", name, err, kind)
		}
	}
	if err := d.ContainerRename(ctx, "web", "/front"); err != nil {
		t.Fatal(err)
	}
	if c, err := d.ContainerInspect(ctx, "front"); err != nil || c.ID != id || c.Name != "/front" {
		t.Errorf("inspect front = %s %s (%v)", c.ID, c.Name, err)
	}
	if _, err := d.ContainerInspect(ctx, "web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("old name still found: %v", err)
	}
}

func TestTopAndNamespacesOfThisProcess(t *testing.T) {
	d, id, _ := runningFake(t)
	ctx := context.Background()
	// With pier-init (no --init given), PID 1 is pier's and top leaves it out.
	top, err := d.ContainerTop(ctx, "web", "")
	if err != nil || len(top.Processes) != 0 {
		t.Fatalf("top with pier-init = %+v (%v), want no rows", top, err)
	}
	// --init=false: PID 1 is the user's program.
	var r containerRecord
	if err := d.md.Update(containerKind, id, &r, func() error {
		noInit := false
		r.HostConfig.Init = &noInit
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	top, err = d.ContainerTop(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	me := strconv.Itoa(os.Getpid())
	if len(top.Processes) != 1 || strings.Join(top.Titles, " ") != "UID PID NSPID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top = %+v", top)
	}
	row := top.Processes[0]
	if row[1] != me || row[2] != me || row[3] != strconv.Itoa(os.Getppid()) || !strings.Contains(row[8], "process") && !strings.Contains(row[8], "test") {
		t.Errorf("row %q, want pid and nspid %s", row, me)
	}
	pid, links, err := d.ContainerNamespaces(ctx, "web")
	if err != nil || pid != os.Getpid() {
		t.Fatalf("ns = %d (%v)", pid, err)
	}
	if !strings.HasPrefix(links["mnt"], "mnt:[") || !strings.HasPrefix(links["pid"], "pid:[") {
		t.Errorf("links %v", links)
	}
}

func TestParsePS(t *testing.T) {
	out := "UID PID PPID C STIME TTY TIME CMD\nroot 7 1 0 10:00 ? 00:00:00 sleep 99\nroot 8 1 0 10:00 ? 00:00:00 other\n"
	top, err := parsePS(out, []int{7})
	if err != nil || len(top.Processes) != 1 || top.Processes[0][7] != "sleep 99" || len(top.Processes[0]) != 8 {
		t.Errorf("parsePS = %+v (%v)", top, err)
	}
	if _, err := parsePS("USER COMMAND\nroot x\n", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("no PID column: %v", err)
	}
}

func TestPSColumns(t *testing.T) {
	if got := cpuTime(90061 * time.Second); got != "1-01:01:01" {
		t.Errorf("cpuTime = %q", got)
	}
	if got := cpuTime(61 * time.Second); got != "00:01:01" {
		t.Errorf("cpuTime = %q", got)
	}
	if tty(0) != "?" || tty(136<<8|3) != "pts/3" {
		t.Errorf("tty = %q %q", tty(0), tty(136<<8|3))
	}
	now := time.Date(2026, 11, 28, 21, 0, 0, 0, time.Local)
	if stime(now.Add(-time.Hour), now) != "20:00" || stime(now.AddDate(0, 0, -2), now) != "Nov26" {
		t.Errorf("stime = %q %q", stime(now.Add(-time.Hour), now), stime(now.AddDate(0, 0, -2), now))
	}
}

func TestKillThawsPaused(t *testing.T) {
	d, _, log := runningFake(t)
	ctx := context.Background()
	if err := d.ContainerPause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := d.ContainerKill(ctx, "web", "KILL"); err != nil {
		t.Fatal(err)
	}
	if verbs, _ := os.ReadFile(log); string(verbs) != "pause\nkill\nresume\n" {
		t.Errorf("runtime verbs %q, want pause, kill, resume", verbs)
	}
	if c, _ := d.ContainerInspect(ctx, "web"); c.State.Paused {
		t.Errorf("still paused after kill: %+v", c.State)
	}
}
