package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/moby/moby/api/types/container"
)

// parseDevice is --device HOST[:CONTAINER][:PERMS]; PERMS is a set of r, w
// and m (default rwm), and HOST:PERMS is allowed, as in docker.
func parseDevice(s string) (container.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 || parts[0] == "" {
		return container.DeviceMapping{}, fmt.Errorf("bad format for path: %s", s)
	}
	d := container.DeviceMapping{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 2:
		if validDeviceMode(parts[1]) {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		if !validDeviceMode(parts[2]) {
			return container.DeviceMapping{}, fmt.Errorf("bad mode specified: %s", parts[2])
		}
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !path.IsAbs(d.PathInContainer) {
		return container.DeviceMapping{}, fmt.Errorf("%s is not an absolute path", d.PathInContainer)
	}
	d.PathInContainer = path.Clean(d.PathInContainer)
	return d, nil
}

// validDeviceMode is a non-empty set of r, w and m, each at most once.
func validDeviceMode(mode string) bool {
	if mode == "" {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// parseSecurityOpts checks each --security-opt's form and, as the docker
// CLI does, replaces seccomp=<file> with the file's compacted JSON: the
// daemon may not see the client's files. systempaths=unconfined is handled
// here too, as empty masked and read-only path lists.
func parseSecurityOpts(list []string) (out, masked, readonly []string, err error) {
	for _, opt := range list {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			k, v, ok = strings.Cut(opt, ":")
		}
		if (!ok || v == "") && k != "no-new-privileges" {
			return nil, nil, nil, fmt.Errorf("invalid --security-opt: %q", opt)
		}
		switch {
		case opt == "systempaths=unconfined":
			masked, readonly = []string{}, []string{}
			continue
		case k == "seccomp" && v != "unconfined" && v != "builtin":
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, b); err != nil {
				return nil, nil, nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %w", v, err)
			}
			opt = "seccomp=" + buf.String()
		}
		out = append(out, opt)
	}
	return out, masked, readonly, nil
}

// parseRestart is --restart no|always|unless-stopped|on-failure[:N].
func parseRestart(s string) (container.RestartPolicy, error) {
	if s == "" {
		return container.RestartPolicy{}, nil
	}
	name, count, ok := strings.Cut(s, ":")
	if ok && name == "" {
		return container.RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return container.RestartPolicy{}, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	if err := container.ValidateRestartPolicy(p); err != nil {
		return container.RestartPolicy{}, err
	}
	return p, nil
}

// parseLogConfig is --log-driver and --log-opt k=v. pier writes json-file
// logs only (with rotation: max-size, max-file).
func parseLogConfig(driver string, opts []string) (container.LogConfig, error) {
	if driver != "" && driver != "json-file" {
		return container.LogConfig{}, fmt.Errorf("--log-driver: logging driver %q is not supported: pier writes json-file logs only", driver)
	}
	c := container.LogConfig{Type: driver}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return container.LogConfig{}, fmt.Errorf("invalid --log-opt %q: want key=value", o)
		}
		if c.Config == nil {
			c.Config = map[string]string{}
		}
		c.Config[k] = v
	}
	return c, nil
}

// healthOptions are the --health-* flags and --no-healthcheck.
type healthOptions struct {
	cmd                                           string
	interval, timeout, startPeriod, startInterval time.Duration
	retries                                       int
	none                                          bool
}

// config is Config.Healthcheck: nil when no flag was given (the image's
// stays), Test ["NONE"] for --no-healthcheck, ["CMD-SHELL", cmd] for a
// command; a zero field keeps the image's value.
func (h healthOptions) config() (*container.HealthConfig, error) {
	set := h.cmd != "" || h.interval != 0 || h.timeout != 0 || h.startPeriod != 0 ||
		h.retries != 0 || h.startInterval != 0
	if h.none {
		if set {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !set {
		return nil, nil
	}
	for _, c := range []struct {
		name string
		neg  bool
	}{
		{"--health-interval", h.interval < 0}, {"--health-timeout", h.timeout < 0},
		{"--health-retries", h.retries < 0}, {"--health-start-period", h.startPeriod < 0},
		{"--health-start-interval", h.startInterval < 0},
	} {
		if c.neg {
			return nil, fmt.Errorf("%s cannot be negative", c.name)
		}
	}
	hc := &container.HealthConfig{
		Interval: h.interval, Timeout: h.timeout, StartPeriod: h.startPeriod,
		StartInterval: h.startInterval, Retries: h.retries,
	}
	if h.cmd != "" {
		hc.Test = []string{"CMD-SHELL", h.cmd}
	}
	return hc, nil
}

// readEnvFiles reads each --env-file (KEY=VALUE lines, # comments, a bare
// KEY taken from our environment) and appends -e's values, which win.
func readEnvFiles(files, env []string) ([]string, error) {
	var out []string
	for _, f := range files {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		out = append(out, lines...)
	}
	return append(out, envList(env)...), nil
}

func readEnvFile(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))))
	for n := 1; sc.Scan(); n++ {
		if !utf8.Valid(sc.Bytes()) {
			return nil, fmt.Errorf("invalid env file (%s): invalid utf8 bytes at line %d", name, n)
		}
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		key, _, hasValue := strings.Cut(line, "=")
		switch {
		case key == "":
			return nil, fmt.Errorf("invalid env file (%s): no variable name on line '%s'", name, line)
		case strings.ContainsAny(key, " \t"):
			return nil, fmt.Errorf("invalid env file (%s): variable '%s' contains whitespaces", name, key)
		case hasValue:
			out = append(out, line)
		default:
			if v, ok := os.LookupEnv(line); ok {
				out = append(out, line+"="+v)
			}
		}
	}
	return out, sc.Err()
}

// validateExtraHost is --add-host host:ip or host=ip; the daemon takes
// host:ip, so that is what is sent. "host-gateway" stands for an address.
func validateExtraHost(s string) (string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		k, v, ok = strings.Cut(s, ":")
	}
	if !ok || k == "" || strings.Contains(k, ":") {
		return "", fmt.Errorf("bad format for add-host: %q", s)
	}
	if v != "host-gateway" {
		if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		if _, err := netip.ParseAddr(v); err != nil {
			return "", fmt.Errorf("invalid IP address in add-host: %q", v)
		}
	}
	return k + ":" + v, nil
}

func validateIP(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("IP address is not correctly formatted: %s", s)
	}
	return a.String(), nil
}

func validateDNSSearch(s string) (string, error) {
	d := strings.TrimSuffix(s, ".")
	if s == "." {
		return s, nil
	}
	if d == "" || len(d) > 255 || strings.HasPrefix(d, ".") || strings.Contains(d, "..") {
		return "", fmt.Errorf("%s is not a valid domain", s)
	}
	return s, nil
}

// namespacedSysctls are the IPC ones docker lets a container set; the
// fs.mqueue. and net. families are allowed whole.
var namespacedSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// validateSysctl is docker's: key=value with a namespaced key. Whether the
// key fits the container's network and IPC modes is the daemon's call.
func validateSysctl(s string) (string, error) {
	k, _, ok := strings.Cut(s, "=")
	if ok && (slices.Contains(namespacedSysctls, k) ||
		strings.HasPrefix(k, "fs.mqueue.") || strings.HasPrefix(k, "net.")) {
		return s, nil
	}
	return "", fmt.Errorf("sysctl '%s' is not allowed", s)
}
