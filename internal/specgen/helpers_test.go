package specgen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/caps"
)

const testID = "0123456789abcdef0123456789abcdef"

// rootfs makes a tiny root filesystem with /etc/passwd and /etc/group.
func rootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n# comment\nwww:x:33:33:www:/var/www:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nwww:x:33:\naudio:x:29:www\nvideo:x:44:www,other\nstaff:x:50:\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// input is a busybox-like container with defaults everywhere.
func input(t *testing.T) Input {
	return Input{
		ID:   testID,
		Name: "test",
		Image: &v1.ConfigFile{Config: v1.Config{
			Cmd: []string{"sh"},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		}},
		Config:         &container.Config{},
		HostConfig:     &container.HostConfig{},
		Rootfs:         rootfs(t),
		HostnamePath:   "/var/lib/pier/c/hostname",
		HostsPath:      "/var/lib/pier/c/hosts",
		ResolvConfPath: "/var/lib/pier/c/resolv.conf",
		InitPath:       "/usr/libexec/pier/pier-init",
		ContainerPID:   func(string) (int, error) { return 4242, nil },
		VolumePath:     func(name string) (string, error) { return "/var/lib/pier/volumes/" + name + "/_data", nil },
		Device: func(p string) (specs.LinuxDevice, error) {
			return specs.LinuxDevice{Path: p, Type: "c", Major: 10, Minor: 200}, nil
		},
		HostDevices: func() ([]specs.LinuxDevice, error) {
			return []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}}, nil
		},
		HostCapabilities: func() ([]string, error) { return caps.Known(), nil },
	}
}

func build(t *testing.T, in Input) *specs.Spec {
	t.Helper()
	out, err := Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out.Spec
}

func mountAt(s *specs.Spec, dst string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dst {
			return m, true
		}
	}
	return specs.Mount{}, false
}

func namespaceOf(s *specs.Spec, kind specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == kind {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func envValue(s *specs.Spec, name string) (string, bool) {
	for _, kv := range s.Process.Env {
		if k, v, _ := cut(kv); k == name {
			return v, true
		}
	}
	return "", false
}

func cut(kv string) (string, string, bool) {
	for i := range kv {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ptr[T any](v T) *T { return &v }
