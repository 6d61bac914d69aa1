package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
)

// pki is a CA, a server certificate for 127.0.0.1 and a client
// certificate, made for one test and written as PEM files.
type pki struct {
	dir                    string // ca.pem, cert.pem, key.pem: the client's set
	server                 tls.Certificate
	pool                   *x509.CertPool
	caPEM, certPEM, keyPEM []byte
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pier test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips ...net.IP) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	srvDER, srvKey := leaf(2, "pierd", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	cliDER, cliKey := leaf(3, "pier-client", x509.ExtKeyUsageClientAuth)
	p := &pki{dir: t.TempDir(), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cliDER})
	p.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: mustMarshalEC(t, cliKey)})
	p.writeTo(t, p.dir)
	return p
}

func (p *pki) writeTo(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"ca.pem": p.caPEM, "cert.pem": p.certPEM, "key.pem": p.keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustMarshalEC(t *testing.T, k *ecdsa.PrivateKey) []byte {
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tlsDaemon is a fake daemon behind TLS; it answers /version and records
// the common name of each client certificate it saw ("" for none).
type tlsDaemon struct {
	host string
	mu   sync.Mutex
	cns  []string
}

func (d *tlsDaemon) clients() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.cns)
}

// startTLSDaemon serves with p's server certificate; requireClient asks
// for a client certificate signed by p's CA.
func startTLSDaemon(t *testing.T, p *pki, requireClient bool) *tlsDaemon {
	d := &tlsDaemon{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Api-Version", "1.51") })
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		d.mu.Lock()
		d.cns = append(d.cns, cn)
		d.mu.Unlock()
		json.NewEncoder(w).Encode(system.VersionResponse{Version: "over-tls", APIVersion: "1.51"})
	})
	srv := httptest.NewUnstartedServer(unversioned(mux))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool}
	if requireClient {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d.host = "tcp://" + srv.Listener.Addr().String()
	return d
}

func TestTLSVerifyWithFlags(t *testing.T) {
	p := newPKI(t)
	d := startTLSDaemon(t, p, true)
	code, out, errs := runEnv(t, nil, "--tlsverify", "--tlscacert", filepath.Join(p.dir, "ca.pem"),
		"--tlscert", filepath.Join(p.dir, "cert.pem"), "--tlskey", filepath.Join(p.dir, "key.pem"),
		"-H", d.host, "version", "--format", "{{.Server.Version}}")
	if code != 0 || strings.TrimSpace(out) != "over-tls" {
		t.Fatalf("pier --tlsverify version = %d %q: %s", code, out, errs)
	}
	if got := d.clients(); !slices.Equal(got, []string{"pier-client"}) {
		t.Errorf("client certificates seen %q, want the one given", got)
	}
}

func TestTLSVerifyFromEnvironment(t *testing.T) {
	p := newPKI(t)
	d := startTLSDaemon(t, p, true)
	env := map[string]string{"DOCKER_HOST": d.host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": p.dir}
	code, out, errs := runEnv(t, env, "version", "--format", "{{.Server.Version}}")
	if code != 0 || strings.TrimSpace(out) != "over-tls" {
		t.Fatalf("DOCKER_TLS_VERIFY pier version = %d %q: %s", code, out, errs)
	}
}

// A server whose certificate the CA did not sign is refused with
// --tlsverify, and accepted with --tls alone, which does not verify.
func TestTLSVerifyRefusesUnknownServer(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	d := startTLSDaemon(t, other, false)
	code, _, errs := runEnv(t, nil, "--tlsverify", "--tlscacert", filepath.Join(p.dir, "ca.pem"), "-H", d.host, "version")
	if code == 0 || !strings.Contains(errs, "certificate") {
		t.Errorf("--tlsverify against a server of another CA = %d: %s", code, errs)
	}
	code, out, errs := runEnv(t, nil, "--tls", "-H", d.host, "version", "--format", "{{.Server.Version}}")
	if code != 0 || strings.TrimSpace(out) != "over-tls" {
		t.Errorf("--tls (no verification) = %d %q: %s", code, out, errs)
	}
	if got := d.clients(); !slices.Equal(got, []string{""}) {
		t.Errorf("client certificates seen %q, want none: the default files do not exist", got)
	}
}

func TestTLSFlagsNameMissingFiles(t *testing.T) {
	code, _, errs := runEnv(t, nil, "--tlsverify", "--tlscacert", "/nonexistent/ca.pem", "-H", "tcp://127.0.0.1:1", "version")
	if code == 0 || !strings.Contains(errs, "/nonexistent/ca.pem") {
		t.Errorf("--tlscacert of a missing file = %d: %s", code, errs)
	}
}

// writeContext stores a docker context as `docker context create` does.
func writeContext(t *testing.T, configDir, name, host string, p *pki) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := map[string]any{"Name": name, "Metadata": map[string]any{},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": false}}}
	b, _ := json.Marshal(meta)
	dir := filepath.Join(configDir, "contexts", "meta", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if p != nil {
		p.writeTo(t, filepath.Join(configDir, "contexts", "tls", id, "docker"))
	}
}

func TestContexts(t *testing.T) {
	p := newPKI(t)
	d := startTLSDaemon(t, p, true)
	plain := startServer(t) // the fake of cli_test.go: version 7.7.7
	cfg := t.TempDir()
	writeContext(t, cfg, "remote", d.host, p)
	writeContext(t, cfg, "local", plain, nil)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"remote"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	format := []string{"version", "--format", "{{.Server.Version}}"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"current context of config.json", nil, nil, "over-tls"},
		{"--context", nil, []string{"--context", "local"}, "7.7.7"},
		{"-c before the verb", nil, []string{"-c", "local"}, "7.7.7"},
		{"DOCKER_CONTEXT", map[string]string{"DOCKER_CONTEXT": "local"}, nil, "7.7.7"},
		{"--context over DOCKER_CONTEXT", map[string]string{"DOCKER_CONTEXT": "local"}, []string{"--context", "remote"}, "over-tls"},
		{"DOCKER_HOST over the current context", map[string]string{"DOCKER_HOST": plain}, nil, "7.7.7"},
		{"-H over the current context", nil, []string{"-H", plain}, "7.7.7"},
		{"--context default is -H or the environment", map[string]string{"DOCKER_HOST": plain}, []string{"--context", "default"}, "7.7.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"DOCKER_CONFIG": cfg}
			for k, v := range tc.env {
				env[k] = v
			}
			code, out, errs := runEnv(t, env, append(tc.args, format...)...)
			if code != 0 || strings.TrimSpace(out) != tc.want {
				t.Errorf("pier %v = %d %q (%s), want %q", tc.args, code, out, errs, tc.want)
			}
		})
	}

	code, _, errs := runEnv(t, map[string]string{"DOCKER_CONFIG": cfg}, "--context", "nope", "version")
	if code == 0 || !strings.Contains(errs, `context "nope" does not exist`) {
		t.Errorf("unknown context = %d: %s", code, errs)
	}
	code, _, errs = runEnv(t, map[string]string{"DOCKER_CONFIG": cfg}, "--context", "local", "-H", plain, "version")
	if code == 0 || !strings.Contains(errs, "cannot specify both --host and --context") {
		t.Errorf("--context with -H = %d: %s", code, errs)
	}
}

func TestParseHost(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tls  bool
		want string
		err  bool
	}{
		{"", false, DefaultHost, false},
		{"unix://", false, DefaultHost, false},
		{"unix:///tmp/d.sock", false, "unix:///tmp/d.sock", false},
		{"tcp://10.0.0.1", false, "tcp://10.0.0.1:2375", false},
		{"tcp://10.0.0.1", true, "tcp://10.0.0.1:2376", false},
		{"10.0.0.1:4243", false, "tcp://10.0.0.1:4243", false},
		{"tcp://[::1]:99", false, "tcp://[::1]:99", false},
		{"tcp://:99", false, "tcp://127.0.0.1:99", false},
		{"tcp://h:1/path", false, "", true},
		{"ssh://user@h", false, "", true},
	} {
		got, err := parseHost(tc.in, tc.tls)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseHost(%q, %v) = %q, %v; want %q (error %v)", tc.in, tc.tls, got, err, tc.want, tc.err)
		}
	}
}

func TestGlobalArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"-c ctx ps", "--context ctx ps"},
		{"-c=ctx ps", "--context=ctx ps"},
		{"-cctx ps", "--context=ctx ps"},
		{"-H unix:///s -c ctx run -c 512 img", "-H unix:///s --context ctx run -c 512 img"},
		{"run -c 512 img", "run -c 512 img"},
		{"--config -c ps", "--config -c ps"}, // a value, not the flag
	} {
		if got := strings.Join(globalArgs(strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("globalArgs(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// One invocation uses one client: a verb that makes several requests
// does not build a client per request, and Run closes it.
func TestOneClientPerRun(t *testing.T) {
	a := &app{}
	root := a.rootCommand()
	if err := root.ParseFlags([]string{"-H", "unix:///nonexistent"}); err != nil {
		t.Fatal(err)
	}
	c1, err := a.client()
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := a.client()
	if c1 != c2 {
		t.Error("a second client() built another client")
	}
}
