package cli

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// TestFlagsMapToRequest checks where each flag lands in the create request.
func TestFlagsMapToRequest(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	if err := os.WriteFile(envFile, []byte("\xEF\xBB\xBF# comment\nA=1\n  B=two words\nFROM_HOST\nNOT_SET_ANYWHERE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FROM_HOST", "h")
	profile := filepath.Join(dir, "seccomp.json")
	if err := os.WriteFile(profile, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	i64 := func(v int64) *int64 { return &v }
	tru := true
	for _, tc := range []struct {
		args  []string
		check func(client.ContainerCreateOptions) any // returns the field under test
		want  any
	}{
		{[]string{"--env-file", envFile, "-e", "A=9"}, func(o client.ContainerCreateOptions) any { return o.Config.Env },
			[]string{"A=1", "B=two words", "FROM_HOST=h", "A=9"}},
		{[]string{"-h", "box"}, func(o client.ContainerCreateOptions) any { return o.Config.Hostname }, "box"},
		{[]string{"-m", "64m", "--memory-swap", "-1", "--memory-reservation", "32m"},
			func(o client.ContainerCreateOptions) any {
				r := o.HostConfig.Resources
				return []int64{r.Memory, r.MemorySwap, r.MemoryReservation}
			}, []int64{64 << 20, -1, 32 << 20}},
		{[]string{"-c", "512", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--blkio-weight", "300"},
			func(o client.ContainerCreateOptions) any {
				r := o.HostConfig.Resources
				return []any{r.CPUShares, r.CpusetCpus, r.CpusetMems, r.BlkioWeight}
			}, []any{int64(512), "0", "0", uint16(300)}},
		{[]string{"--ulimit", "nofile=256:512", "--ulimit", "nproc=10", "--ulimit", "nofile=100:200"},
			func(o client.ContainerCreateOptions) any { return o.HostConfig.Ulimits },
			[]*container.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}, {Name: "nproc", Soft: 10, Hard: 10}}},
		{[]string{"--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--privileged"},
			func(o client.ContainerCreateOptions) any {
				return []any{o.HostConfig.CapAdd, o.HostConfig.CapDrop, o.HostConfig.Privileged}
			}, []any{[]string{"NET_ADMIN"}, []string{"ALL"}, true}},
		{[]string{"--security-opt", "no-new-privileges", "--security-opt", "seccomp=" + profile, "--security-opt", "label=disable"},
			func(o client.ContainerCreateOptions) any { return o.HostConfig.SecurityOpt },
			[]string{"no-new-privileges", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`, "label=disable"}},
		{[]string{"--security-opt", "seccomp=unconfined", "--security-opt", "systempaths=unconfined"},
			func(o client.ContainerCreateOptions) any {
				return []any{o.HostConfig.SecurityOpt, o.HostConfig.MaskedPaths, o.HostConfig.ReadonlyPaths}
			}, []any{[]string{"seccomp=unconfined"}, []string{}, []string{}}},
		{[]string{"--device", "/dev/null:/dev/mynull"}, func(o client.ContainerCreateOptions) any { return o.HostConfig.Devices },
			[]container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/mynull", CgroupPermissions: "rwm"}}},
		{[]string{"--restart", "on-failure:2"}, func(o client.ContainerCreateOptions) any { return o.HostConfig.RestartPolicy },
			container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 2}},
		{nil, func(o client.ContainerCreateOptions) any { return o.HostConfig.RestartPolicy },
			container.RestartPolicy{Name: container.RestartPolicyDisabled}},
		{[]string{"--pid", "container:x", "--ipc", "container:x", "--uts", "container:x", "--cgroupns", "host", "--userns", "host"},
			func(o client.ContainerCreateOptions) any {
				h := o.HostConfig
				return []string{string(h.PidMode), string(h.IpcMode), string(h.UTSMode), string(h.CgroupnsMode), string(h.UsernsMode)}
			}, []string{"container:x", "container:x", "container:x", "host", "host"}},
		{[]string{"--log-driver", "json-file", "--log-opt", "max-size=1k", "--log-opt", "max-file=3"},
			func(o client.ContainerCreateOptions) any { return o.HostConfig.LogConfig },
			container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1k", "max-file": "3"}}},
		{[]string{"--runtime", "crun", "--group-add", "wheel", "--shm-size", "128m", "--oom-kill-disable"},
			func(o client.ContainerCreateOptions) any {
				h := o.HostConfig
				return []any{h.Runtime, h.GroupAdd, h.ShmSize, h.OomKillDisable}
			}, []any{"crun", []string{"wheel"}, int64(128 << 20), &tru}},
		{[]string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=100"},
			func(o client.ContainerCreateOptions) any { return o.HostConfig.Sysctls },
			map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "100"}},
		{[]string{"--dns", "10.0.0.53", "--dns-search", "example.com", "--dns-option", "ndots:2", "--add-host", "db=10.0.0.5"},
			func(o client.ContainerCreateOptions) any {
				h := o.HostConfig
				return []any{h.DNS, h.DNSSearch, h.DNSOptions, h.ExtraHosts}
			}, []any{[]netip.Addr{netip.MustParseAddr("10.0.0.53")}, []string{"example.com"}, []string{"ndots:2"}, []string{"db:10.0.0.5"}}},
		{[]string{"-i", "-t"}, func(o client.ContainerCreateOptions) any {
			c := o.Config
			return []bool{c.OpenStdin, c.StdinOnce, c.AttachStdin, c.Tty, c.AttachStdout, c.AttachStderr}
		}, []bool{true, true, true, true, true, true}},
		{nil, func(o client.ContainerCreateOptions) any {
			c := o.Config
			return []bool{c.OpenStdin, c.AttachStdin, c.Tty}
		}, []bool{false, false, false}},
		{[]string{"-a", "STDOUT"}, func(o client.ContainerCreateOptions) any {
			c := o.Config
			return []bool{c.AttachStdin, c.AttachStdout, c.AttachStderr, c.StdinOnce}
		}, []bool{false, true, false, false}},
		{[]string{"-i", "-a", "stdin", "-a", "stderr"}, func(o client.ContainerCreateOptions) any {
			c := o.Config
			return []bool{c.AttachStdin, c.AttachStdout, c.AttachStderr, c.StdinOnce}
		}, []bool{true, false, true, true}},
		{[]string{"--health-cmd", "wget -q localhost", "--health-interval", "2s", "--health-retries", "3",
			"--health-timeout", "1s", "--health-start-period", "5s", "--health-start-interval", "100ms"},
			func(o client.ContainerCreateOptions) any { return o.Config.Healthcheck },
			&container.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 2 * time.Second,
				Timeout: time.Second, StartPeriod: 5 * time.Second, StartInterval: 100 * time.Millisecond, Retries: 3}},
		{[]string{"--no-healthcheck"}, func(o client.ContainerCreateOptions) any { return o.Config.Healthcheck },
			&container.HealthConfig{Test: []string{"NONE"}}},
		{nil, func(o client.ContainerCreateOptions) any { return o.Config.Healthcheck }, (*container.HealthConfig)(nil)},
		{[]string{"--pids-limit", "-1"}, func(o client.ContainerCreateOptions) any { return o.HostConfig.PidsLimit }, i64(-1)},
		{[]string{"--egress-rate", "10mbit", "--ingress-rate", "1MBPS"},
			func(o client.ContainerCreateOptions) any {
				return o.NetworkingConfig.EndpointsConfig["bridge"].DriverOpts
			},
			map[string]string{"pier.bandwidth.egress": "10mbit", "pier.bandwidth.ingress": "1mbps"}},
		{[]string{"--network", "app", "--network-alias", "db", "--ip", "10.1.0.9", "--egress-rate", "1mbit"},
			func(o client.ContainerCreateOptions) any { return o.NetworkingConfig.EndpointsConfig["app"] },
			&network.EndpointSettings{Aliases: []string{"db"}, DriverOpts: map[string]string{"pier.bandwidth.egress": "1mbit"},
				IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("10.1.0.9")}}},
		{nil, func(o client.ContainerCreateOptions) any { return o.NetworkingConfig }, (*network.NetworkingConfig)(nil)},
		{[]string{"--mac-address", "02:42:AC:11:00:99"},
			func(o client.ContainerCreateOptions) any {
				return o.NetworkingConfig.EndpointsConfig["bridge"].MacAddress.String()
			}, "02:42:ac:11:00:99"},
	} {
		opts := mustCreate(t, append(tc.args, "busybox", "true")...)
		if got := tc.check(opts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %#v, want %#v", tc.args, got, tc.want)
		}
	}
}

func TestPublishFlags(t *testing.T) {
	port := network.MustParsePort
	opts := mustCreate(t, "-p", "127.0.0.1:18080:80", "-p", "9000-9001:7000-7001/udp", "-p", "53/udp",
		"-p", "published=8443,target=443", "--expose", "3000-3001", "-P", "busybox")
	exposed := slices.Sorted(func(yield func(string) bool) {
		for p := range opts.Config.ExposedPorts {
			if !yield(p.String()) {
				return
			}
		}
	})
	want := []string{"3000/tcp", "3001/tcp", "443/tcp", "53/udp", "7000/udp", "7001/udp", "80/tcp"}
	if !slices.Equal(exposed, want) {
		t.Errorf("exposed = %v, want %v", exposed, want)
	}
	wantBindings := network.PortMap{
		port("80/tcp"):   {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "18080"}},
		port("7000/udp"): {{HostPort: "9000"}},
		port("7001/udp"): {{HostPort: "9001"}},
		port("53/udp"):   {{HostPort: ""}},
		port("443/tcp"):  {{HostPort: "8443"}},
	}
	if !reflect.DeepEqual(opts.HostConfig.PortBindings, wantBindings) {
		t.Errorf("bindings = %v, want %v", opts.HostConfig.PortBindings, wantBindings)
	}
	if !opts.HostConfig.PublishAllPorts {
		t.Error("-P did not set PublishAllPorts")
	}
}
