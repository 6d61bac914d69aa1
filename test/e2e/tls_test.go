package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// certMaker issues certificates from one test CA.
type certMaker struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *certMaker {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certMaker{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate (server: for 127.0.0.1; else a client's)
// and its key to dir/<prefix>cert.pem and dir/<prefix>key.pem.
func (ca *certMaker) issue(t *testing.T, dir, prefix string, server bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: prefix + "pier-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix+"cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(prefix+"key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	write(prefix+"ca.pem", ca.pem)
}

// freeLoopbackPort returns 127.0.0.1:<a free port>.
func freeLoopbackPort(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(testutil.FreeLoopbackPort(t))))
}

// TestTLSListener: pierd on a Unix socket and tcp://127.0.0.1 with mutual
// TLS (certificates made here). Both docker CLIs and pier, by flags and by
// DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, reach it (a run too: attach over
// TLS); a client certificate from another CA, or none, is refused.
func TestTLSListener(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "busybox")
	testutil.CheckLeaks(t)
	dir := shortDir(t)
	certs := filepath.Join(dir, "certs")
	for _, d := range []string{"server", "client", "other"} {
		if err := os.MkdirAll(filepath.Join(certs, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ca := newCA(t, "pier test CA")
	ca.issue(t, filepath.Join(certs, "server"), "", true)
	ca.issue(t, filepath.Join(certs, "client"), "", false)
	newCA(t, "another CA").issue(t, filepath.Join(certs, "other"), "", false)
	addr := freeLoopbackPort(t)
	srv := filepath.Join(certs, "server")
	startPierd(t, dir, "-H", "tcp://"+addr, "--tlsverify",
		"--tlscacert", filepath.Join(srv, "ca.pem"), "--tlscert", filepath.Join(srv, "cert.pem"), "--tlskey", filepath.Join(srv, "key.pem"))

	flags := func(d string) []string {
		return []string{"-H", "tcp://" + addr, "--tlsverify", "--tlscacert", filepath.Join(d, "ca.pem"),
			"--tlscert", filepath.Join(d, "cert.pem"), "--tlskey", filepath.Join(d, "key.pem")}
	}
	client := filepath.Join(certs, "client")
	clients := append(dockerCLIs(), testutil.Binary(t, "pier"))
	for _, cli := range clients {
		out := mustRun(t, cli, append(flags(client), "version", "--format", "{{.Server.Version}}")...)
		if strings.TrimSpace(out) == "" {
			t.Errorf("%s version over TLS printed nothing", cli)
		}
		if out := mustRun(t, cli, append(flags(client), "run", "--rm", "busybox", "echo", "over-tls")...); strings.TrimSpace(out) != "over-tls" {
			t.Errorf("%s run over TLS printed %q", cli, out)
		}
		// The environment's way: the CA of the server, our own cert.
		cmd := exec.Command(cli, "ps", "-q")
		cmd.Env = append(cleanEnv(), "DOCKER_HOST=tcp://"+addr, "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+client,
			"DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s ps with DOCKER_TLS_VERIFY: %v\n%s", cli, err, out)
		}
		// A client certificate from another CA: the handshake fails.
		other := filepath.Join(certs, "other")
		args := []string{"-H", "tcp://" + addr, "--tlsverify", "--tlscacert", filepath.Join(client, "ca.pem"),
			"--tlscert", filepath.Join(other, "cert.pem"), "--tlskey", filepath.Join(other, "key.pem"), "version"}
		if code, out, errs := run(t, cli, args...); code == 0 || strings.Contains(out, "Server:") {
			t.Errorf("%s with another CA's certificate = %d\n%s\n%s", cli, code, out, errs)
		}
		// No TLS at all.
		if code, out, errs := run(t, cli, "-H", "tcp://"+addr, "ps"); code == 0 {
			t.Errorf("%s without TLS = %d\n%s\n%s", cli, code, out, errs)
		}
	}
}

// TestPlainTCP: plain TCP is served on loopback; off loopback pierd refuses
// to start without --tlsverify and says why (the address is TEST-NET, not
// this host's, so nothing could be bound there anyway).
func TestPlainTCP(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.CheckLeaks(t)
	dir := shortDir(t)
	addr := freeLoopbackPort(t)
	startPierd(t, dir, "-H", "tcp://"+addr)
	for _, cli := range append(dockerCLIs(), testutil.Binary(t, "pier")) {
		if out := mustRun(t, cli, "-H", "tcp://"+addr, "version", "--format", "{{.Server.APIVersion}}"); strings.TrimSpace(out) == "" {
			t.Errorf("%s over plain loopback TCP printed nothing", cli)
		}
	}
	code, _, errs := run(t, testutil.Binary(t, "pierd"), "--root", filepath.Join(dir, "root2"), "-H", "tcp://192.0.2.1:2375")
	if code == 0 || !strings.Contains(errs, "--tlsverify") {
		t.Errorf("pierd on tcp://192.0.2.1 without TLS = %d\n%s", code, errs)
	}
}
