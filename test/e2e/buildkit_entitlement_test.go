package e2e_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// capSysAdmin is CAP_SYS_ADMIN's bit in /proc/self/status's CapEff.
const capSysAdmin = 21

const insecureDockerfile = `FROM busybox
RUN grep CapEff /proc/self/status > /default
RUN --security=insecure grep CapEff /proc/self/status > /insecure && grep CapBnd /proc/self/status > /insecure-bnd && mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted > /mounted
`

// TestBuildKitSecurityInsecure: a pierd whose daemon.json grants
// security.insecure (dockerd's "builder" key, spelt as BuildKit's suite
// writes it) runs `RUN --security=insecure` privileged, with
// CAP_SYS_ADMIN (a tmpfs mounts) while a plain RUN has not; without
// `--allow` the build asks for nothing and is refused; a pierd without
// the grant refuses the build, naming the entitlement.
func TestBuildKitSecurityInsecure(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": insecureDockerfile})
	code, out := r.buildx("buildx", "build", "--progress=plain", "--allow", "security.insecure", "--output", "type=local,dest="+t.TempDir(), ctx)
	if code == 0 || !strings.Contains(out, "security.insecure") {
		t.Errorf("pierd without the grant: build = %d, want a refusal naming security.insecure:\n%s", code, out)
	}

	cfg := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(cfg, []byte(`{"builder": {"Entitlements": {"network-host": true, "security-insecure": true}, "gc": {"enabled": true, "defaultKeepStorage": "10GB"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &buildRig{t: t, d: startPierd(t, shortDir(t), "--config", cfg)}
	dest := t.TempDir()
	g.mustBuildx("buildx", "build", "--progress=plain", "--allow", "security.insecure", "--output", "type=local,dest="+dest, ctx)
	def, ins := capEff(t, filepath.Join(dest, "default")), capEff(t, filepath.Join(dest, "insecure"))
	if def&(1<<capSysAdmin) != 0 || ins&(1<<capSysAdmin) == 0 || ins == def {
		t.Errorf("CapEff: plain RUN %x, --security=insecure %x; want CAP_SYS_ADMIN in the second only", def, ins)
	}
	b, _ := os.ReadFile(filepath.Join(dest, "insecure-bnd"))
	t.Logf("CapEff %x %x; %s", def, ins, b)
	if b, err := os.ReadFile(filepath.Join(dest, "mounted")); err != nil || string(b) != "mounted\n" {
		t.Errorf("tmpfs mount in the insecure RUN: %q %v", b, err)
	}

	code, out = g.buildx("buildx", "build", "--progress=plain", "--no-cache", "--output", "type=local,dest="+t.TempDir(), ctx)
	if code == 0 || !strings.Contains(out, "security.insecure") {
		t.Errorf("build without --allow: %d, want a refusal naming security.insecure:\n%s", code, out)
	}
	g.nothingLeft()
	r.nothingLeft()
}

// capEff reads the CapEff line grep wrote into file.
func capEff(t *testing.T, file string) uint64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] != "CapEff:" {
		t.Fatalf("%s: %q is not a CapEff line", file, b)
	}
	v, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}
