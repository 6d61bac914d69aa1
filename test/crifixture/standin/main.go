// Command standin plays the few programs of the images critest pulls, for
// scripts/cri-fixture.sh: pause, nginx, httpd and nnp (the nonewprivs
// image's setuid program). It picks its part by the name it is installed
// under, so one static binary serves every image.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// nginxTitle is the command line of nginx's master process, which critest
// looks for among the pod's processes.
const nginxTitle = "nginx: master process nginx -g daemon off;"

func main() {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	switch filepath.Base(self) {
	case "pause":
		if os.Getpid() != 1 {
			fmt.Fprintln(os.Stderr, "pause: not pid 1")
		}
		waitForStop()
	case "nginx":
		nginx(self)
	case "httpd":
		httpd()
	case "nnp":
		fmt.Printf("Effective uid: %d\n", os.Geteuid())
	default:
		fmt.Fprintf(os.Stderr, "standin: no part named %q\n", filepath.Base(self))
		os.Exit(2)
	}
}

// waitForStop reaps children, as a pid 1 must, until SIGTERM, SIGINT or
// SIGQUIT.
func waitForStop() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		var ws syscall.WaitStatus
		for pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid > 0; pid, _ = syscall.Wait4(-1, &ws, syscall.WNOHANG, nil) {
		}
	}
}

// serve answers every path with body on port and logs each request with
// logf, in the program's access log format.
func serve(port int, body string, logf func(*http.Request)) {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen :%d: %v\n", port, err)
		os.Exit(1)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(body))
		logf(r)
	})
	go func() { _ = (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
}

func accessLog(r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	fmt.Printf("%s - - [%s] \"%s %s %s\" 200 - \"-\" \"%s\"\n", host,
		time.Now().Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.URL.RequestURI(), r.Proto, r.UserAgent())
}

func nginx(self string) {
	if os.Args[0] != nginxTitle {
		err := syscall.Exec(self, []string{nginxTitle}, os.Environ())
		fmt.Fprintf(os.Stderr, "nginx: exec %s: %v\n", self, err)
	}
	port := 80
	conf, _ := os.ReadFile("/etc/nginx/conf.d/default.conf")
	if m := regexp.MustCompile(`listen\s+(\d+)\s*;`).FindSubmatch(conf); m != nil {
		port, _ = strconv.Atoi(string(m[1]))
	}
	body, err := os.ReadFile("/usr/share/nginx/html/index.html")
	if err != nil {
		body = []byte("<h1>Welcome to nginx!</h1>\n")
	}
	_ = os.WriteFile("/var/run/nginx.pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	serve(port, string(body), accessLog)
	waitForStop()
}

func httpd() {
	stamp := func() string { return time.Now().Format("Mon Jan 02 15:04:05.000000 2006") }
	fmt.Fprintln(os.Stderr, "AH00558: httpd: Could not reliably determine the server's fully qualified domain name")
	serve(80, "<html><body><h1>It works!</h1></body></html>\n", accessLog)
	fmt.Fprintf(os.Stderr, "[%s] [mpm_event:notice] [pid %d:tid 1] AH00489: Apache/2.4.39 (Unix) configured -- resuming normal operations\n", stamp(), os.Getpid())
	waitForStop()
}
