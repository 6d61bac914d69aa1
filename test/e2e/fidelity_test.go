package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFidelityWithDockerCLIs: the details real clients trip on (issue 13),
// with Docker's 28 and Debian's 20.10 CLIs: run -w of a new directory, the
// json-file log driver, .Mounts of binds and anonymous volumes, rm -v of
// those, rm right after kill, dockerd's 404 and conflict texts, and swarm
// commands answered as by a dockerd outside a swarm.
func TestFidelityWithDockerCLIs(t *testing.T) {
	d := newPierd(t, "busybox")
	for _, docker := range dockerCLIs() {
		t.Run(strings.TrimPrefix(docker, "/usr/"), func(t *testing.T) {
			cli := func(args ...string) (int, string, string) {
				return run(t, docker, append([]string{"-H", d.host}, args...)...)
			}
			if code, out, errs := cli("run", "--rm", "--network", "none", "-w", "/new/dir", "busybox", "pwd"); code != 0 || out != "/new/dir\n" {
				t.Errorf("run -w /new/dir = %d %q %s", code, out, errs)
			}

			src := t.TempDir()
			id := strings.TrimSpace(mustRun(t, docker, "-H", d.host, "create", "--network", "none",
				"-v", src+":/bound:ro", "-v", "/anon", "busybox", "sleep", "60"))
			var ins []struct {
				HostConfig struct{ LogConfig struct{ Type string } }
				Mounts     []struct {
					Type, Name, Source, Destination string
					RW                              bool
				}
			}
			if err := json.Unmarshal([]byte(mustRun(t, docker, "-H", d.host, "inspect", id)), &ins); err != nil || len(ins) != 1 {
				t.Fatalf("inspect: %v", err)
			}
			if ins[0].HostConfig.LogConfig.Type != "json-file" {
				t.Errorf("LogConfig.Type = %q, want json-file", ins[0].HostConfig.LogConfig.Type)
			}
			anon := ""
			for _, m := range ins[0].Mounts {
				switch m.Destination {
				case "/bound":
					if m.Type != "bind" || m.Source != src || m.RW {
						t.Errorf("bind mount = %+v", m)
					}
				case "/anon":
					anon = m.Name
				}
			}
			if len(ins[0].Mounts) != 2 || len(anon) != 64 {
				t.Fatalf("Mounts = %+v, want the bind and an anonymous volume", ins[0].Mounts)
			}
			mustRun(t, docker, "-H", d.host, "start", id)
			if code, _, errs := cli("rm", id); code == 0 || !strings.Contains(errs, "You cannot remove a running container") {
				t.Errorf("rm of a running container = %d %s", code, errs)
			}
			mustRun(t, docker, "-H", d.host, "kill", id)
			mustRun(t, docker, "-H", d.host, "rm", "-v", id) // no wait: kill returns once it took effect
			if code, _, _ := cli("volume", "inspect", anon); code == 0 {
				t.Errorf("rm -v left the anonymous volume %s", anon)
			}

			if code, _, errs := cli("image", "inspect", "nothere:1"); code == 0 || !strings.Contains(errs, "No such image: nothere:1") {
				t.Errorf("inspect of a missing image = %d %s", code, errs)
			}
			if code, _, errs := cli("container", "inspect", "nothere"); code == 0 || !strings.Contains(errs, "No such container: nothere") {
				t.Errorf("inspect of a missing container = %d %s", code, errs)
			}
			if code, _, errs := cli("swarm", "leave", "--force"); code == 0 || !strings.Contains(errs, "This node is not part of a swarm") {
				t.Errorf("swarm leave = %d %s", code, errs)
			}
			if code, _, errs := cli("service", "ls"); code == 0 || !strings.Contains(errs, "This node is not a swarm manager") {
				t.Errorf("service ls = %d %s", code, errs)
			}
			if code, _, errs := cli("create", "--log-driver", "asdf", "busybox"); code == 0 || !strings.Contains(errs, "no log driver named 'asdf'") {
				t.Errorf("create --log-driver asdf = %d %s", code, errs)
			}
		})
	}
}
