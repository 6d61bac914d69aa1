package e2e_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composePlugin is where scripts/install-compose.sh (make test-deps)
// puts Compose v2 for root.
const composePlugin = "/usr/local/lib/docker/cli-plugins/docker-compose"

const composeProject = `services:
  db:
    image: busybox
    command: ["sh", "-c", "echo from-db > /data/index.html; echo db-up; exec httpd -f -p 80 -h /data"]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/index.html"]
      interval: 1s
      retries: 20
  web:
    image: busybox
    depends_on:
      db: {condition: service_healthy}
    env_file: [web.env]
    ports: ["127.0.0.1:PORT:80"]
    working_dir: /srv/new/dir
    command: ["sh", "-c", "echo greeting=$$GREETING pwd=$$(pwd); mkdir -p /www; echo hi-web > /www/index.html; exec httpd -f -p 80 -h /www"]
  worker:
    image: busybox
    command: ["sleep", "300"]
    volumes: ["/scratch"]
  built:
    build: ./app
    command: ["cat", "/built"]
volumes:
  data: {}
`

// TestCompose drives pierd with Docker Compose v2 (the CLI plugin, under
// docker CLI 28) as a user would: up with a build, a healthy dependency,
// an env_file, a published port on 127.0.0.1, a new working directory and
// an anonymous volume; ps, logs, exec (service-name DNS), run, scale,
// restart; a named volume kept across down/up, and removed by down -v.
func TestCompose(t *testing.T) {
	d := newPierd(t, "busybox")
	if _, err := os.Stat(composePlugin); err != nil {
		t.Fatalf("Compose v2 is not installed (%v): run scripts/install-compose.sh (make test-deps)", err)
	}
	dir := t.TempDir()
	port := strings.TrimPrefix(freeLoopbackPort(t), "127.0.0.1:")
	files := map[string]string{
		"compose.yaml":   strings.Replace(composeProject, "PORT", port, 1),
		"web.env":        "GREETING=hello-env\n",
		"app/Dockerfile": "FROM busybox\nRUN echo built-ok > /built\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := t.TempDir()
	compose := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, dockers[0], append([]string{"compose", "-p", "pt"}, args...)...)
		cmd.Dir = dir
		// DOCKER_BUILDKIT=0: compose builds through the classic POST /build
		// even where the buildx plugin is installed.
		cmd.Env = append(cleanEnv(), "DOCKER_HOST="+d.host, "DOCKER_CONFIG="+config, "DOCKER_BUILDKIT=0")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker compose %s: %v\nstdout: %s\nstderr: %s\npierd: %s", strings.Join(args, " "), err, out.String(), errb.String(), lastLines(d.stderr.String(), 20))
		}
		return out.String()
	}
	t.Cleanup(func() {
		cmd := exec.Command(dockers[0], "compose", "-p", "pt", "down", "-v", "--timeout", "1")
		cmd.Dir = dir
		cmd.Env = append(cleanEnv(), "DOCKER_HOST="+d.host, "DOCKER_CONFIG="+config)
		_ = cmd.Run()
	})

	compose("up", "-d", "--build")
	ps := compose("ps", "--format", "{{.Service}} {{.State}}")
	for _, want := range []string{"db running", "web running", "worker running"} {
		if !strings.Contains(ps, want) {
			t.Errorf("compose ps lacks %q:\n%s", want, ps)
		}
	}
	logs := compose("logs", "--no-log-prefix")
	for _, want := range []string{"db-up", "greeting=hello-env pwd=/srv/new/dir", "built-ok"} {
		if !strings.Contains(logs, want) {
			t.Errorf("compose logs lack %q:\n%s", want, logs)
		}
	}
	if out := compose("exec", "-T", "web", "wget", "-qO-", "http://db/"); strings.TrimSpace(out) != "from-db" {
		t.Errorf("web reached db by its service name: %q", out)
	}
	if out := getRetry(t, "http://127.0.0.1:"+port+"/"); strings.TrimSpace(out) != "hi-web" {
		t.Errorf("published port answered %q", out)
	}
	if out := compose("run", "--rm", "-T", "worker", "echo", "run-ok"); strings.TrimSpace(out) != "run-ok" {
		t.Errorf("compose run printed %q", out)
	}
	compose("up", "-d", "--scale", "worker=2")
	if ids := strings.Fields(compose("ps", "-q", "worker")); len(ids) != 2 {
		t.Errorf("scaled to 2 workers, ps -q shows %d", len(ids))
	}
	compose("restart", "web")
	if out := compose("exec", "-T", "web", "wget", "-qO-", "http://db/"); strings.TrimSpace(out) != "from-db" {
		t.Errorf("after restart: %q", out)
	}

	// The named volume outlives down; down -v removes it.
	compose("exec", "-T", "db", "sh", "-c", "echo kept > /data/marker")
	compose("down", "--timeout", "1")
	compose("up", "-d", "db")
	if out := compose("exec", "-T", "db", "cat", "/data/marker"); strings.TrimSpace(out) != "kept" {
		t.Errorf("named volume across down/up: %q", out)
	}
	compose("down", "-v", "--timeout", "1")
	vols := mustRun(t, dockers[0], "-H", d.host, "volume", "ls", "-q")
	if strings.Contains(vols, "pt_data") {
		t.Errorf("down -v left the volume:\n%s", vols)
	}
	if out := mustRun(t, dockers[0], "-H", d.host, "ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("down left containers: %s", out)
	}
}

// lastLines is the end of a log, for failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
