package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/spf13/pflag"
)

// parseCreate runs run's flag parsing and createRequest on args.
func parseCreate(t *testing.T, args ...string) (client.ContainerCreateOptions, error) {
	t.Helper()
	var o createOptions
	f := pflag.NewFlagSet("run", pflag.ContinueOnError)
	f.SetOutput(new(strings.Builder))
	o.addFlags(f)
	if err := f.Parse(args); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	return o.createRequest(f, f.Args())
}

func mustCreate(t *testing.T, args ...string) client.ContainerCreateOptions {
	t.Helper()
	opts, err := parseCreate(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return opts
}

func TestFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ulimit", "nofile=abc"}, `invalid argument "nofile=abc" for "--ulimit" flag`},
		{[]string{"--ulimit", "nofile"}, `invalid argument "nofile" for "--ulimit" flag`},
		{[]string{"-m", "lots"}, `invalid argument "lots" for "-m, --memory" flag`},
		{[]string{"--memory-swap", "-2"}, `for "--memory-swap" flag`},
		{[]string{"--shm-size", "x"}, `for "--shm-size" flag`},
		{[]string{"--device", "/dev/null:rel"}, "rel is not an absolute path"},
		{[]string{"--device", "/dev/null:/x:rwx"}, "bad mode specified: rwx"},
		{[]string{"--device", "a:b:c:d"}, "bad format for path"},
		{[]string{"--mount", "type=bind,src"}, "invalid field 'src' must be a key=value pair"},
		{[]string{"--mount", "type=nfs,dst=/x"}, `invalid mount type "nfs"`},
		{[]string{"--mount", "type=tmpfs,dst=/x,volume-nocopy"}, "cannot mix 'volume-*' options with mount type 'tmpfs'"},
		{[]string{"--mount", "type=tmpfs,dst=/x,tmpfs-size=big"}, "invalid value for tmpfs-size: big"},
		{[]string{"--mount", "type=tmpfs,dst=/x,tmpfs-mode=9"}, "invalid value for tmpfs-mode: 9"},
		{[]string{"--mount", "bogus=1"}, "unknown option 'bogus'"},
		{[]string{"--mount", "type=volume,ro=maybe"}, "invalid boolean value"},
		{[]string{"--sysctl", "kernel.hostname=x"}, "sysctl 'kernel.hostname=x' is not allowed"},
		{[]string{"--dns", "1.2.3"}, "IP address is not correctly formatted: 1.2.3"},
		{[]string{"--add-host", "nohost"}, `bad format for add-host: "nohost"`},
		{[]string{"--add-host", "h:1.2.3.999"}, `invalid IP address in add-host: "1.2.3.999"`},
		{[]string{"--egress-rate", "fast"}, `invalid argument "fast" for "--egress-rate" flag: invalid rate "fast"`},
		{[]string{"--ingress-rate", "10mbits"}, `for "--ingress-rate" flag`},
		{[]string{"--health-interval", "5"}, `for "--health-interval" flag`},
		{[]string{"--blkio-weight", "70000"}, `for "--blkio-weight" flag`},
	} {
		_, err := parseCreate(t, append(tc.args, "busybox")...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestCreateRequestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--restart", "sometimes"}, "invalid restart policy: unknown policy 'sometimes'"},
		{[]string{"--restart", "on-failure:x"}, "maximum retry count must be an integer"},
		{[]string{"--restart", "always:3"}, "maximum retry count can only be used with 'on-failure'"},
		{[]string{"--restart", ":3"}, "no policy provided before colon"},
		{[]string{"--restart", "always", "--rm"}, "cannot specify both --restart and --rm"},
		{[]string{"--log-driver", "syslog"}, `logging driver "syslog" is not supported`},
		{[]string{"--log-opt", "max-size"}, `invalid --log-opt "max-size"`},
		{[]string{"--security-opt", "seccomp"}, `invalid --security-opt: "seccomp"`},
		{[]string{"--security-opt", "seccomp=" + filepath.Join(dir, "none.json")}, "opening seccomp profile"},
		{[]string{"--security-opt", "seccomp=" + bad}, "compacting json for seccomp profile"},
		{[]string{"--pid", "bogus"}, "--pid: invalid PID mode"},
		{[]string{"--uts", "container:"}, "--uts: invalid UTS mode"},
		{[]string{"--uts", "bogus"}, "--uts: invalid UTS mode"},
		{[]string{"--userns", "private"}, "--userns: invalid USER mode"},
		{[]string{"--cgroupns", "shared"}, "--cgroupns: invalid CGROUP mode"},
		{[]string{"--ipc", "weird"}, "--ipc: invalid IPC mode"},
		{[]string{"--env-file", filepath.Join(dir, "missing")}, "--env-file: open"},
		{[]string{"--no-healthcheck", "--health-cmd", "true"}, "--no-healthcheck conflicts with --health-* options"},
		{[]string{"--health-retries", "-1"}, "--health-retries cannot be negative"},
		{[]string{"--health-interval", "-1s"}, "--health-interval cannot be negative"},
		{[]string{"-p", "99999:80"}, "99999"},
		{[]string{"-p", "80/sctpx"}, "sctpx"},
		{[]string{"--expose", "1-x"}, "invalid range format for --expose"},
		{[]string{"--network-alias", "a"}, "network-scoped aliases are only supported for user-defined networks"},
		{[]string{"--network", "none", "--egress-rate", "1mbit"}, `--egress-rate needs a network`},
		{[]string{"--ip", "fe80::1"}, `for "--ip" flag`},
		{[]string{"--mac-address", "02:42:zz:11:00:99"}, `for "--mac-address" flag`},
		{[]string{"-a", "stdnothing"}, `valid streams are STDIN, STDOUT and STDERR`},
		{[]string{"--network", "host", "--mac-address", "02:42:ac:11:00:99"}, `--mac-address needs a network`},
		{[]string{"--cpus", "-1"}, `for "--cpus" flag`},
	} {
		_, err := parseCreate(t, append(tc.args, "busybox")...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want container.DeviceMapping
	}{
		{"/dev/null", container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "rwm"}},
		{"/dev/null:/dev/mynull", container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rwm"}},
		{"/dev/null:r", container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/null", CgroupPermissions: "r"}},
		{"/dev/null:/dev/x/../y:rw", container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/dev/y", CgroupPermissions: "rw"}},
	} {
		got, err := parseDevice(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseDevice(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"10mbit", 10e6, true}, {"10Mbit", 10e6, true}, {"512kbit", 512e3, true},
		{"1mbps", 8e6, true}, {"1.5gbit", 1.5e9, true}, {"1000", 1000, true},
		{"1mibit", 1 << 20, true}, {"", 0, false}, {"mbit", 0, false},
		{"0mbit", 0, false}, {"-1mbit", 0, false}, {"10mbits", 0, false}, {"1bit", 0, false},
	} {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestMountFlag(t *testing.T) {
	opts := mustCreate(t,
		"--mount", "type=bind,src=/srv,dst=/data,readonly,bind-propagation=rshared",
		"--mount", "source=vol1,target=/v,volume-nocopy",
		"--mount", "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770",
		"busybox")
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: "/srv", Target: "/data", ReadOnly: true,
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRShared}},
		{Type: mount.TypeVolume, Source: "vol1", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
		{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1770}},
	}
	if got := opts.HostConfig.Mounts; !reflect.DeepEqual(got, want) {
		t.Errorf("mounts = %+v, want %+v", got, want)
	}
}
