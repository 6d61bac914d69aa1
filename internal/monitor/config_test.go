package monitor

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/ociruntime"
)

func validConfig() Config {
	return Config{
		Runtime: "/bin/pier-runtime", RuntimeRoot: "/run/pier/runtime", ID: "c1",
		Bundle: "/var/lib/pier/c1/bundle", LogPath: "/var/lib/pier/c1/json.log",
		StatusFile: "/var/lib/pier/c1/status.json", PidFile: "/var/lib/pier/c1/init.pid",
	}
}

func TestParseConfig(t *testing.T) {
	in := `{"runtime":"/usr/bin/runc","runtimeRoot":"/run/r","id":"c1","bundle":"/b",
		"logPath":"/l","logOptions":{"max-size":"1m","max-file":"2"},"statusFile":"/s",
		"pidFile":"/p","monitorPidFile":"/m","cgroups":["/sys/fs/cgroup/memory/pier/c1"],"syncFd":3}`
	got, err := ParseConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Runtime: "/usr/bin/runc", RuntimeRoot: "/run/r", ID: "c1", Bundle: "/b",
		LogPath: "/l", LogOptions: map[string]string{"max-size": "1m", "max-file": "2"},
		StatusFile: "/s", PidFile: "/p", MonitorPidFile: "/m",
		Cgroups: []string{"/sys/fs/cgroup/memory/pier/c1"}, SyncFD: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no runtime":     func(c *Config) { c.Runtime = "" },
		"no id":          func(c *Config) { c.ID = "" },
		"no bundle":      func(c *Config) { c.Bundle = "" },
		"no log":         func(c *Config) { c.LogPath = "" },
		"no status":      func(c *Config) { c.StatusFile = "" },
		"no pid file":    func(c *Config) { c.PidFile = "" },
		"stdio sync fd":  func(c *Config) { c.SyncFD = 2 },
		"bad log option": func(c *Config) { c.LogOptions = map[string]string{"max-size": "big"} },
		"unknown option": func(c *Config) { c.LogOptions = map[string]string{"labels": "x"} },
	} {
		c := validConfig()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want ErrInvalidArgument", name, err)
		}
	}
	if err := validConfig().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"runtime":`)); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("truncated JSON: %v, want ErrInvalidArgument", err)
	}
}

func TestRuntimeCLI(t *testing.T) {
	c := validConfig()
	c.RuntimeLog = "/l/runtime.log"
	got := c.runtimeCLI()
	want := ociruntime.CLI{Name: filepath.Base(c.Runtime), Path: c.Runtime, Root: "/run/pier/runtime", Log: "/l/runtime.log"}
	if got != want {
		t.Errorf("runtimeCLI = %+v, want %+v", got, want)
	}
}
