package cli

import (
	"github.com/spf13/pflag"
)

// addFlags registers run's and create's flags with docker's names, types
// and help, plus pier's --egress-rate and --ingress-rate.
func (o *createOptions) addFlags(f *pflag.FlagSet) {
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	// -h is --hostname, so --help has no shorthand, as in docker; cobra
	// honours a "help" flag that is already defined.
	f.Bool("help", false, "Print usage")
	o.addProcessFlags(f)
	o.addResourceFlags(f)
	o.addSecurityFlags(f)
	o.addStorageFlags(f)
	o.addNetworkFlags(f)
	o.addHealthFlags(f)
}

func (o *createOptions) addProcessFlags(f *pflag.FlagSet) {
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringArrayVar(&o.groupAdd, "group-add", nil, "Add additional groups to join")
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container (pier's default; --init=false turns it off)")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	f.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container when it exits")
	f.StringVar(&o.restart, "restart", "no", "Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.VarP(&o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")
	f.StringVar(&o.runtime, "runtime", "", "Runtime to use for this container (pier-runtime, runc or crun)")
	f.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container (json-file only)")
	f.StringArrayVar(&o.logOpts, "log-opt", nil, "Log driver options (max-size=10m, max-file=3)")
}

func (o *createOptions) addResourceFlags(f *pflag.FlagSet) {
	f.VarP(&o.memory, "memory", "m", "Memory limit")
	o.memorySwap.allowUnlimited = true
	f.Var(&o.memorySwap, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	f.Var(&o.memoryReservation, "memory-reservation", "Memory soft limit")
	f.BoolVar(&o.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
	f.Float64Var(&o.cpus, "cpus", 0, "Number of CPUs")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMem, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.Uint16Var(&o.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Var(&o.ulimits, "ulimit", "Ulimit options (name=soft[:hard], e.g. nofile=1024:2048)")
	f.Var(&o.shmSize, "shm-size", "Size of /dev/shm")
}

func (o *createOptions) addSecurityFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	f.StringArrayVar(&o.securityOpt, "security-opt", nil,
		"Security Options (no-new-privileges[:true], seccomp=unconfined|<profile file>, systempaths=unconfined)")
	o.devices.validate = func(s string) (string, error) { _, err := parseDevice(s); return s, err }
	f.Var(&o.devices, "device", "Add a host device to the container (host[:container][:rwm])")
	f.StringVar(&o.pid, "pid", "", "PID namespace to use (host, container:<name|id>)")
	f.StringVar(&o.ipc, "ipc", "", "IPC mode to use (private, shareable, host, none, container:<name|id>)")
	f.StringVar(&o.uts, "uts", "", "UTS namespace to use (host, container:<name|id>)")
	f.StringVar(&o.cgroupns, "cgroupns", "", "Cgroup namespace to use (host|private)")
	f.StringVar(&o.userns, "userns", "", "User namespace to use (host only)")
	o.sysctls.validate = validateSysctl
	f.Var(&o.sysctls, "sysctl", "Sysctl options")
}

func (o *createOptions) addStorageFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringArrayVar(&o.tmpfs, "tmpfs", nil, "Mount a tmpfs directory (DIR[:OPTIONS])")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume (SRC:DST[:ro|rw][,rshared|rslave|rprivate…])")
	f.Var(&o.mounts, "mount", "Attach a filesystem mount to the container (type=bind|volume|tmpfs,src=…,dst=…[,readonly])")
}

func (o *createOptions) addNetworkFlags(f *pflag.FlagSet) {
	n := &o.net
	f.StringVar(&n.name, "network", "", "Connect a container to a network (bridge, none, host, container:<name|id>, or a network's name)")
	f.StringVar(&n.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	f.StringVar(&n.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	f.StringVar(&n.mac, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	f.Var(&n.aliases, "network-alias", "Add network-scoped alias for the container")
	f.VarP(&n.publish, "publish", "p", "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto], ranges a-b)")
	f.BoolVarP(&n.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	f.Var(&n.expose, "expose", "Expose a port or a range of ports")
	n.dns.validate = validateIP
	f.Var(&n.dns, "dns", "Set custom DNS servers")
	n.dnsSearch.validate = validateDNSSearch
	f.Var(&n.dnsSearch, "dns-search", "Set custom DNS search domains")
	f.Var(&n.dnsOp, "dns-option", "Set DNS options")
	n.extraHosts.validate = validateExtraHost
	f.Var(&n.extraHosts, "add-host", "Add a custom host-to-IP mapping (host:ip)")
	f.Var(&n.egress, "egress-rate", "pier: limit what the container sends, a tc rate such as 10mbit, 512kbit or 1mbps (bytes/s)")
	f.Var(&n.ingress, "ingress-rate", "pier: limit what the container receives, a tc rate such as 10mbit, 512kbit or 1mbps (bytes/s)")
}

func (o *createOptions) addHealthFlags(f *pflag.FlagSet) {
	h := &o.health
	f.StringVar(&h.cmd, "health-cmd", "", "Command to run to check health")
	f.DurationVar(&h.interval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	f.DurationVar(&h.timeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	f.IntVar(&h.retries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	f.DurationVar(&h.startPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	f.DurationVar(&h.startInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	f.BoolVar(&h.none, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
}
