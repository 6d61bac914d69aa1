package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuildKitSSH: buildx --ssh default forwards a test ssh-agent (Debian's
// openssh-client) into RUN --mount=type=ssh: the step sees SSH_AUTH_SOCK
// and lists the agent's key through it (testdata/sshlist, static).
func TestBuildKitSSH(t *testing.T) {
	r := newBuildRig(t)
	for _, tool := range []string{"ssh-agent", "ssh-keygen", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (scripts/install-deps.sh installs openssh-client)", tool, err)
		}
	}
	dir := shortDir(t)
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	key := filepath.Join(dir, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pier-test-key", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	if !waitFor(5*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatalf("ssh-agent made no socket %s", sock)
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}

	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY sshlist /sshlist\n" +
		"RUN --mount=type=ssh echo \"$SSH_AUTH_SOCK\" > /sock && /sshlist > /keys\n" +
		"FROM scratch\nCOPY --from=0 /sock /keys /\n"})
	gobuild := exec.Command("go", "build", "-o", filepath.Join(ctx, "sshlist"), "./testdata/sshlist")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		t.Fatalf("build sshlist: %v\n%s", err, out)
	}
	dest := t.TempDir()
	code, out := r.buildxEnv([]string{"SSH_AUTH_SOCK=" + sock}, "buildx", "build", "--progress=plain", "--ssh", "default",
		"--output", "type=local,dest="+dest, ctx)
	if code != 0 {
		t.Fatalf("buildx build --ssh default = %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "sock")); strings.TrimSpace(string(b)) == "" {
		t.Errorf("RUN --mount=type=ssh: SSH_AUTH_SOCK empty")
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "keys")); string(b) != "pier-test-key\n" {
		t.Errorf("keys listed through the forwarded agent = %q, want pier-test-key", b)
	}
	r.nothingLeft()
}

// buildxEnv is buildx with extra environment.
func (r *buildRig) buildxEnv(env []string, args ...string) (int, string) {
	r.t.Helper()
	cmd := exec.Command("/usr/local/bin/docker", append([]string{"--host", r.d.host}, args...)...)
	cmd.Env = append(append(cleanEnv(), "DOCKER_CONFIG="+buildxConfig(r.t)), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		r.t.Fatalf("docker %v: %v", args, err)
	}
	return 0, string(out)
}

// TestBuildKitProgressTTY: under a terminal (script(1) gives the CLI a
// pty), buildx --progress=tty draws BuildKit's progress with cursor
// movements and ends FINISHED.
func TestBuildKitProgressTTY(t *testing.T) {
	r := newBuildRig(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo tty > /t\n"})
	line := strings.Join([]string{"/usr/local/bin/docker", "--host", r.d.host, "buildx", "build", "--progress=tty",
		"--output", "type=local,dest=" + t.TempDir(), ctx}, " ")
	cmd := exec.Command("script", "-qec", line, "/dev/null")
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+buildxConfig(t), "TERM=xterm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("buildx --progress=tty under a pty: %v\n%q", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "\x1b[") || !strings.Contains(s, "FINISHED") {
		t.Errorf("tty progress without cursor control or FINISHED:\n%q", s)
	}
	r.nothingLeft()
}

// TestBuildKitCrash: kill -9 of pierd (and of a pier-buildkitd of its)
// while a RUN sleeps: after a restart on the same root there is no
// half-made image, the step's process, mounts, cgroups and namespace are
// gone (the leak check), and the cache of an earlier build still serves.
func TestBuildKitCrash(t *testing.T) {
	r := newBuildRig(t)
	base := "FROM busybox\nRUN echo one > /one\n"
	done := writeContext(t, map[string]string{"Dockerfile": base})
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkdone", "--load", done)); n != 1 {
		t.Fatalf("first build ran %d RUN steps, want 1", n)
	}
	mark := sleepMark() + "2"
	cli, _ := startSleepBuild(t, r, "/usr/local/bin/docker", r.d.host, []string{"DOCKER_CONFIG=" + buildxConfig(t)}, mark,
		"buildx", "build", "--progress=plain", "-t", "bkcrash", "--load")
	killBuildKit(t, r.d)
	_ = syscall.Kill(-cli.Process.Pid, syscall.SIGKILL)

	r.d = startPierd(t, r.d.dir)
	if imgs := r.mustDocker(nil, "images", "--format", "{{.Repository}}"); strings.Contains(imgs, "bkcrash") {
		t.Errorf("a half-made image after the crash:\n%s", imgs)
	}
	if n := ranSteps(r.mustBuildx("buildx", "build", "--progress=plain", "-t", "bkdone", "--load", done)); n != 0 {
		t.Errorf("rebuild after the crash ran %d RUN steps, want 0 (cache lost)", n)
	}
	if !waitFor(5*time.Second, func() bool { return !sleeping(mark) }) {
		t.Errorf("the crashed build's RUN still sleeps after the restart")
	}
	r.mustDocker(nil, "rmi", "bkdone")
	r.nothingLeft()
}

// killBuildKit SIGKILLs pierd and any pier-buildkitd serving its root,
// and waits for pierd's end.
func killBuildKit(t *testing.T, d *pierd) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "pier-buildkitd" && strings.Contains(string(b), d.root) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = d.cmd.Process.Kill()
	<-d.done
}
