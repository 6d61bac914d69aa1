package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pier-engine/pier/internal/testutil"
)

// startAuthRegistry runs docker-registry with htpasswd auth (user "user",
// password "s3cret") and returns its host:port.
func startAuthRegistry(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("user:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return testutil.StartRegistry(t, testutil.Registry{HTPasswd: htpasswd})
}

// runWith runs a client with its own docker config directory, which
// keeps its logins across calls; stdin is given to it.
func runWith(t *testing.T, configDir, stdin, name string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cleanEnv(), "DOCKER_CONFIG="+configDir)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %v: timed out; stdout %q stderr %q", name, args, out.String(), errb.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return 0, out.String(), errb.String()
}

// apiPost sends a POST straight to pierd's socket.
func (d *pierd) apiPost(t *testing.T, path string, header http.Header, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
		},
	}}
	req, err := http.NewRequest(http.MethodPost, "http://pierd"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func authHeader(user, password, server string) http.Header {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password, "serveraddress": server})
	return http.Header{"X-Registry-Auth": {base64.URLEncoding.EncodeToString(b)}}
}

// TestRegistryAuth: against docker-registry with htpasswd, POST /auth
// asks the registry (a wrong password is a 401 with its message, and
// nothing is stored), pulls and pushes use the credentials a request
// carries and only those, and the docker CLIs (login, push, pull, run
// of an image only the registry has) and pier work as with dockerd.
func TestRegistryAuth(t *testing.T) {
	d := newPierd(t, "busybox", "docker-registry")
	pier := testutil.Binary(t, "pier")
	addr := startAuthRegistry(t)
	ref := addr + "/private/busybox:v1"
	mustRun(t, pier, "-H", d.host, "tag", "busybox", ref)

	// The API directly.
	status, body := d.apiPost(t, "/v1.43/auth", nil, `{"username":"user","password":"wrong","serveraddress":"`+addr+`"}`)
	if status != http.StatusUnauthorized || !strings.Contains(body, "authentication required") {
		t.Errorf("POST /auth with a wrong password = %d %s, want 401 with the registry's message", status, body)
	}
	status, body = d.apiPost(t, "/v1.43/auth", nil, `{"username":"user","password":"s3cret","serveraddress":"`+addr+`"}`)
	if status != http.StatusOK || !strings.Contains(body, "Login Succeeded") {
		t.Errorf("POST /auth = %d %s", status, body)
	}
	if _, err := os.Stat(filepath.Join(d.root, "auth.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("POST /auth stored credentials in pierd's auth.json (%v)", err)
	}
	push := "/v1.43/images/" + addr + "/private/busybox/push?tag=v1"
	status, body = d.apiPost(t, push, nil, "")
	// Not a 401, as with dockerd (an unknown error): the docker CLI
	// answers a 401 to a pull or push by prompting for a login.
	if status == http.StatusUnauthorized || !strings.Contains(body, "401") {
		t.Errorf("push without credentials = %d %s, want the registry's 401 in a 500", status, body)
	}
	_, body = d.apiPost(t, push, authHeader("user", "s3cret", addr), "")
	if strings.Contains(body, `"error"`) || !strings.Contains(body, "digest: sha256:") {
		t.Fatalf("push with X-Registry-Auth:\n%s", body)
	}
	mustRun(t, pier, "-H", d.host, "rmi", ref)
	status, body = d.apiPost(t, "/v1.43/images/create?fromImage="+addr+"/private/busybox&tag=v1", authHeader("user", "wrong", addr), "")
	if !strings.Contains(body, "authentication required") {
		t.Errorf("pull with a wrong password = %d %s", status, body)
	}
	_, body = d.apiPost(t, "/v1.43/images/create?fromImage="+addr+"/private/busybox&tag=v1", authHeader("user", "s3cret", addr), "")
	if strings.Contains(body, `"error"`) {
		t.Errorf("pull with X-Registry-Auth:\n%s", body)
	}
	// A header that is not base64 JSON is the client's error.
	if status, body := d.apiPost(t, "/v1.43/images/create?fromImage=busybox", http.Header{"X-Registry-Auth": {"%%%"}}, ""); status != http.StatusBadRequest {
		t.Errorf("malformed X-Registry-Auth = %d %s, want 400", status, body)
	}
	mustRun(t, pier, "-H", d.host, "rmi", ref)

	for _, cli := range dockerCLIs() {
		t.Run(strings.TrimPrefix(strings.ReplaceAll(cli, "/", "-"), "-"), func(t *testing.T) {
			conf := t.TempDir()
			code, _, errs := runWith(t, conf, "wrong\n", cli, "-H", d.host, "login", "-u", "user", "--password-stdin", addr)
			if code == 0 || !strings.Contains(errs, "authentication required") {
				t.Errorf("docker login with a wrong password = %d %q", code, errs)
			}
			code, out, errs := runWith(t, conf, "s3cret\n", cli, "-H", d.host, "login", "-u", "user", "--password-stdin", addr)
			if code != 0 || !strings.Contains(out, "Login Succeeded") {
				t.Fatalf("docker login = %d %q %q", code, out, errs)
			}
			// run of an image only the registry has: the CLI pulls with
			// its credentials after create's "No such image".
			code, out, errs = runWith(t, conf, "", cli, "-H", d.host, "run", "--rm", ref, "echo", "ran")
			if code != 0 || !strings.Contains(out, "ran") {
				t.Fatalf("docker run of a private image = %d %q %q", code, out, errs)
			}
			if code, out, errs := runWith(t, conf, "", cli, "-H", d.host, "push", ref); code != 0 || !strings.Contains(out, "digest: sha256:") {
				t.Errorf("docker push = %d %q %q", code, out, errs)
			}
			mustRun(t, pier, "-H", d.host, "rmi", ref)
			// Another user of the same pierd, not logged in, gets nothing.
			if code, out, errs := runWith(t, t.TempDir(), "", cli, "-H", d.host, "pull", ref); code == 0 {
				t.Errorf("pull without login succeeded: %q %q", out, errs)
			}
			if code, out, errs := runWith(t, conf, "", cli, "-H", d.host, "pull", ref); code != 0 {
				t.Errorf("docker pull after login = %d %q %q", code, out, errs)
			}
			mustRun(t, pier, "-H", d.host, "rmi", ref)
		})
	}

	// pier keeps its login in its own docker config too.
	conf := t.TempDir()
	if code, _, errs := runWith(t, conf, "wrong\n", pier, "-H", d.host, "login", "-u", "user", "--password-stdin", addr); code == 0 || !strings.Contains(errs, "authentication required") {
		t.Errorf("pier login with a wrong password = %d %q", code, errs)
	}
	if b, err := os.ReadFile(filepath.Join(conf, "config.json")); err == nil && strings.Contains(string(b), addr) {
		t.Errorf("refused pier login stored credentials: %s", b)
	}
	if code, out, errs := runWith(t, conf, "s3cret\n", pier, "-H", d.host, "login", "-u", "user", "--password-stdin", addr); code != 0 || out != "Login Succeeded\n" {
		t.Fatalf("pier login = %d %q %q", code, out, errs)
	}
	if code, out, errs := runWith(t, conf, "", pier, "-H", d.host, "pull", ref); code != 0 {
		t.Errorf("pier pull after login = %d %q %q", code, out, errs)
	}
	if code, out, errs := runWith(t, conf, "", pier, "-H", d.host, "push", ref); code != 0 {
		t.Errorf("pier push after login = %d %q %q", code, out, errs)
	}
	mustRun(t, pier, "-H", d.host, "rmi", ref)
	runWith(t, conf, "", pier, "-H", d.host, "logout", addr)
	if code, _, _ := runWith(t, conf, "", pier, "-H", d.host, "pull", ref); code == 0 {
		t.Errorf("pier pull after logout succeeded")
	}
}
