package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// unifiedHide is the shell line the wrapper runs before exec'ing the runtime:
// inside a private mount namespace, hide the cgroup2 mount of the hybrid
// layout, which crun 1.8.1 refuses. On a machine without it, umount fails
// quietly and nothing changes.
const unifiedHide = `umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"`

// variant is one way of invoking one runtime binary.
type variant struct {
	runtime string // pier-runtime, runc, crun
	bin     string
	wrapped bool     // in a private mount namespace without the cgroup2 mount
	root    string   // private --root state dir
	env     []string // added to the environment (PIER_GO_INIT=1 for the A/B)

	seq int      // Last container number used.
	ids []string // Containers this variant may have left behind.
}

// label names the variant in tables: wrapped is the default, bare is marked.
func (v *variant) label() string {
	if v.wrapped {
		return v.runtime
	}
	return v.runtime + " (bare)"
}

// slug names the variant in paths and container ids.
func (v *variant) slug() string {
	if v.wrapped {
		return v.runtime
	}
	return v.runtime + "-bare"
}

// newID returns a container id unique to this process and variant.
func (v *variant) newID() string {
	v.seq++
	id := fmt.Sprintf("pierbench-%d-%s-%d", os.Getpid(), v.slug(), v.seq)
	v.ids = append(v.ids, id)
	return id
}

// command builds `RUNTIME --root R args...`, wrapped if the variant is.
func (v *variant) command(args ...string) *exec.Cmd {
	full := append([]string{v.bin, "--root", v.root}, args...)
	if v.wrapped {
		full = append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", unifiedHide}, full...)
	}
	cmd := exec.Command(full[0], full[1:]...)
	if len(v.env) > 0 {
		cmd.Env = append(os.Environ(), v.env...)
	}
	return cmd
}

// sample is one timed invocation.
type sample struct {
	elapsed time.Duration
	maxRSS  int64 // KiB, the largest of the process and the children it reaped
}

// timed runs cmd with stdin and stdout on /dev/null and stderr in a file
// (a pipe would keep Wait blocked on a detached container holding it), and
// returns its wall time and peak RSS.
func timed(cmd *exec.Cmd) (sample, error) {
	errf, err := os.CreateTemp("", "pier-bench-stderr-")
	if err != nil {
		return sample{}, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stderr = errf
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		msg, _ := os.ReadFile(errf.Name())
		return sample{}, fmt.Errorf("%s: %w: %s", subcommand(cmd.Args), err, bytes.TrimSpace(msg))
	}
	s := sample{elapsed: elapsed}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.maxRSS = ru.Maxrss
	}
	return s, nil
}

// subcommand names the runtime and its verb in an argv for error messages:
// "runc run", whatever the wrapper and global flags before them.
func subcommand(argv []string) string {
	for i, a := range argv {
		if a == "--root" && i+2 < len(argv) {
			return filepath.Base(argv[i-1]) + " " + argv[i+2]
		}
	}
	return strings.Join(argv, " ")
}

// delete removes one container, untimed; errors are expected for containers
// the runtime already removed itself.
func (v *variant) delete(id string) {
	_ = v.command("delete", "-f", id).Run()
}

// deleteAll removes every container this variant created or may have left.
func (v *variant) deleteAll() {
	for _, id := range v.ids {
		if _, err := os.Stat(filepath.Join(v.root, id)); err == nil {
			v.delete(id)
		}
	}
	v.ids = nil
}

// sleepBundle writes a bundle at dir running `sleep 1000` over the rootfs of
// the given bundle, for the exec benchmark's long-running container.
func sleepBundle(bundle, dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("parse %s/config.json: %w", bundle, err)
	}
	proc, _ := cfg["process"].(map[string]any)
	root, _ := cfg["root"].(map[string]any)
	if proc == nil || root == nil {
		return "", fmt.Errorf("%s/config.json: no process or root", bundle)
	}
	proc["args"] = []string{"sleep", "1000"}
	rootPath, _ := root["path"].(string)
	if !filepath.IsAbs(rootPath) {
		root["path"] = filepath.Join(bundle, rootPath)
	}
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
}
