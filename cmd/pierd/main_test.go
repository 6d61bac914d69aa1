package main

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/errdefs"
)

func TestConfigure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(file, []byte(`{"root": "/srv/pier", "socket": "/srv/pier.sock", "group": "wheel"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--config", file, "--host", "unix:///tmp/x.sock", "--group", ""}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configure(o)
	if err != nil {
		t.Fatal(err)
	}
	// The file sets root; flags win over it for the socket and the group.
	want := daemon.Config{Root: "/srv/pier", Socket: "/tmp/x.sock", Group: ""}
	if cfg != want {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
}

func TestConfigureRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"--host", "tcp://127.0.0.1:2375"},
		{"--root", "relative"},
		{"--config", filepath.Join(t.TempDir(), "missing.json")},
	} {
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := configure(o); err == nil {
			t.Errorf("configure %v: no error", args)
		}
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
	o, _ := parseFlags([]string{"--root", "rel"}, io.Discard)
	if _, err := configure(o); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("relative root: %v, want ErrInvalidArgument", err)
	}
}

func TestSocketGID(t *testing.T) {
	if gid, err := socketGID("", nil); err != nil || gid != -1 {
		t.Errorf("no group = %d, %v", gid, err)
	}
	if _, err := socketGID("no-such-group-pier-test", nil); err == nil {
		t.Error("an absent named group was accepted")
	}
	if gid, err := socketGID("root", nil); err != nil || gid != 0 {
		t.Errorf("root group = %d, %v", gid, err)
	}
}

// Without activation meant for pierd, listen creates the configured socket
// and clears variables that a parent left for someone else.
func TestListenWithoutActivation(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	cfg := daemon.Config{Socket: filepath.Join(t.TempDir(), "pier.sock")}
	l, err := listen(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Addr().String(); got != cfg.Socket {
		t.Errorf("listening on %q, want %q", got, cfg.Socket)
	}
	if v, ok := os.LookupEnv("LISTEN_FDS"); ok {
		t.Errorf("LISTEN_FDS=%q left for pierd's children", v)
	}
}
