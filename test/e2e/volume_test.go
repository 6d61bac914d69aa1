package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/pier-engine/pier/internal/testutil"
)

// dockers are the real docker CLIs pier must serve: docker 28 speaks API
// 1.50, Debian's 20.10 speaks 1.41.
var dockers = []string{"/usr/local/bin/docker", "/usr/bin/docker"}

// inspectVolumes runs `<cli> volume inspect names...` and decodes its array.
func inspectVolumes(t *testing.T, cli, host string, names ...string) (int, []volume.Volume, string) {
	t.Helper()
	code, out, errs := run(t, cli, append([]string{"--host", host, "volume", "inspect"}, names...)...)
	var vols []volume.Volume
	if err := json.Unmarshal([]byte(out), &vols); err != nil {
		t.Errorf("%s volume inspect %v printed no JSON array: %q: %v", cli, names, out, err)
	}
	return code, vols, errs
}

func TestVolumes(t *testing.T) {
	d := newPierd(t)
	dir := d.dir
	pier := testutil.Binary(t, "pier")

	code, out, errs := run(t, pier, "-H", d.host, "volume", "create", "v1", "--label", "a=b")
	if code != 0 || out != "v1\n" {
		t.Fatalf("pier volume create = %d %q %q", code, out, errs)
	}
	mountpoint := filepath.Join(d.root, "volumes", "v1", "_data")
	if fi, err := os.Stat(mountpoint); err != nil || !fi.IsDir() {
		t.Errorf("volume data %s: %v", mountpoint, err)
	}
	code, pierLs, errs := run(t, pier, "-H", d.host, "volume", "ls")
	if code != 0 || !strings.Contains(pierLs, "\nlocal     v1\n") {
		t.Errorf("pier volume ls = %d %q %q", code, pierLs, errs)
	}

	for _, docker := range dockers {
		t.Run(docker, func(t *testing.T) {
			if _, err := os.Stat(docker); err != nil {
				t.Skipf("%s: no such docker CLI here: %v", docker, err)
			}
			code, out, errs := run(t, docker, "--host", d.host, "volume", "ls")
			if code != 0 || out != pierLs {
				t.Errorf("docker volume ls = %d %q %q; pier volume ls printed %q", code, out, errs, pierLs)
			}
			code, vols, errs := inspectVolumes(t, docker, d.host, "v1")
			if code != 0 || len(vols) != 1 || vols[0].Labels["a"] != "b" || vols[0].Mountpoint != mountpoint ||
				vols[0].Driver != "local" || vols[0].Scope != "local" {
				t.Errorf("docker volume inspect v1 = %d %+v %q", code, vols, errs)
			}
			_, dockerOut, _ := run(t, docker, "--host", d.host, "volume", "inspect", "v1")
			if _, pierOut, _ := run(t, pier, "-H", d.host, "volume", "inspect", "v1"); pierOut != dockerOut {
				t.Errorf("docker volume inspect printed %q, pier volume inspect %q", dockerOut, pierOut)
			}
			if code, out, errs := run(t, docker, "--host", d.host, "volume", "ls", "-q", "--filter", "label=a=b"); code != 0 || out != "v1\n" {
				t.Errorf("docker volume ls -q --filter label=a=b = %d %q %q", code, out, errs)
			}

			// A volume of docker's own, removed by docker.
			if code, out, errs := run(t, docker, "--host", d.host, "volume", "create", "dv"); code != 0 || out != "dv\n" {
				t.Fatalf("docker volume create dv = %d %q %q", code, out, errs)
			}
			if code, out, errs := run(t, docker, "--host", d.host, "volume", "rm", "dv"); code != 0 || out != "dv\n" {
				t.Errorf("docker volume rm dv = %d %q %q", code, out, errs)
			}
			code, vols, errs = inspectVolumes(t, docker, d.host, "dv")
			if code != 1 || len(vols) != 0 || !noSuchVolume(errs) {
				t.Errorf("docker volume inspect after rm = %d %+v %q, want exit 1 and no such volume", code, vols, errs)
			}
		})
	}

	// API 1.42 changed prune to take only anonymous volumes unless told
	// "all"; pierd serves each client the semantics it was written for.
	t.Run("prune by API version", func(t *testing.T) {
		run(t, pier, "-H", d.host, "volume", "create", "named")
		code, out, errs := run(t, pier, "-H", d.host, "volume", "prune", "-f")
		if code != 0 || strings.Contains(out, "named") {
			t.Errorf("pier volume prune -f = %d %q %q: a named volume went", code, out, errs)
		}
		const old = "/usr/bin/docker"
		if _, err := os.Stat(old); err != nil {
			t.Skipf("%s: no docker 20.10 here: %v", old, err)
		}
		code, out, errs = run(t, old, "--host", d.host, "volume", "prune", "-f")
		if code != 0 || !strings.Contains(out, "Deleted Volumes:") || !strings.Contains(out, "named\n") || !strings.Contains(out, "v1\n") {
			t.Errorf("docker 20.10 volume prune -f = %d %q %q: want every unused volume gone", code, out, errs)
		}
		// It took v1 too; make it again for the restart below.
		if code, _, errs := run(t, pier, "-H", d.host, "volume", "create", "v1", "--label", "a=b"); code != 0 {
			t.Fatalf("pier volume create v1 again: %s", errs)
		}
	})

	// Not a subtest: the new pierd must outlive it.
	d.stop(t)
	d = startPierd(t, dir)
	code, vols, errs := inspectVolumes(t, pier, d.host, "v1")
	if code != 0 || len(vols) != 1 || vols[0].Labels["a"] != "b" || vols[0].Mountpoint != mountpoint {
		t.Errorf("pier volume inspect v1 after a restart = %d %+v %q", code, vols, errs)
	}

	t.Run("rm then inspect", func(t *testing.T) {
		if code, out, errs := run(t, pier, "-H", d.host, "volume", "rm", "v1"); code != 0 || out != "v1\n" {
			t.Fatalf("pier volume rm v1 = %d %q %q", code, out, errs)
		}
		if _, err := os.Stat(filepath.Dir(mountpoint)); !os.IsNotExist(err) {
			t.Errorf("volume directory after rm: %v", err)
		}
		code, vols, errs := inspectVolumes(t, pier, d.host, "v1")
		if code == 0 || len(vols) != 0 || !noSuchVolume(errs) {
			t.Errorf("pier volume inspect after rm = %d %+v %q", code, vols, errs)
		}
		for _, docker := range dockers {
			if _, err := os.Stat(docker); err != nil {
				continue
			}
			if code, _, errs := inspectVolumes(t, docker, d.host, "v1"); code != 1 || !noSuchVolume(errs) {
				t.Errorf("%s volume inspect after rm = %d %q, want exit 1", docker, code, errs)
			}
		}
	})
}

// noSuchVolume recognises the not-found error in each client's wording:
// docker 20.10 prints "Error: No such volume: v1".
func noSuchVolume(stderr string) bool {
	return strings.Contains(strings.ToLower(stderr), "no such volume")
}
