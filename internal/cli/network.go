package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// networkCommands are `pier network ...`.
func (a *app) networkCommands() []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.networkCreateCommand(), a.networkListCommand(), a.networkInspectCommand(),
		a.networkRemoveCommand(), a.networkConnectCommand(), a.networkDisconnectCommand(), a.networkPruneCommand())
	return []*cobra.Command{cmd}
}

func (a *app) networkCreateCommand() *cobra.Command {
	var (
		opts                  client.NetworkCreateOptions
		subnets, gateways     []string
		labels, driverOptions []string
		ipv6                  bool
	)
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Labels, opts.Options = keyValues(labels), keyValues(driverOptions)
			if cmd.Flags().Changed("ipv6") {
				opts.EnableIPv6 = &ipv6
			}
			if len(subnets) > 0 || len(gateways) > 0 {
				cfgs, err := ipamConfigs(subnets, gateways)
				if err != nil {
					return err
				}
				opts.IPAM = &network.IPAM{Driver: "default", Config: cfgs}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.NetworkCreate(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, res.ID)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringArrayVar(&subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment (one IPv4 and one IPv6)")
	f.StringArrayVar(&gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
	f.BoolVar(&ipv6, "ipv6", false, "Enable or disable IPv6 networking")
	f.BoolVar(&opts.Internal, "internal", false, "Restrict external access to the network")
	f.StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	f.StringArrayVarP(&driverOptions, "opt", "o", nil, "Set driver specific options")
	return cmd
}

// ipamConfigs parses --subnet and --gateway as docker does: each gateway
// goes with the subnet that contains it.
func ipamConfigs(subnets, gateways []string) ([]network.IPAMConfig, error) {
	if len(subnets) == 0 {
		return nil, errors.New("every ip-range or gateway must have a corresponding subnet")
	}
	cfgs := make([]network.IPAMConfig, len(subnets))
	for i, s := range subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("invalid subnet %s: %w", s, err)
		}
		cfgs[i].Subnet = p
	}
	for _, g := range gateways {
		a, err := netip.ParseAddr(g)
		if err != nil {
			return nil, fmt.Errorf("invalid gateway %s: %w", g, err)
		}
		i := slices.IndexFunc(cfgs, func(c network.IPAMConfig) bool { return c.Subnet.Contains(a) })
		if i < 0 || cfgs[i].Gateway.IsValid() {
			return nil, fmt.Errorf("no matching subnet for gateway %s", g)
		}
		cfgs[i].Gateway = a
	}
	return cfgs, nil
}

func (a *app) networkListCommand() *cobra.Command {
	var (
		quiet, noTrunc bool
		filters        []string
		format         string
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.NetworkList(cmd.Context(), client.NetworkListOptions{Filters: f})
			if err != nil {
				return err
			}
			slices.SortFunc(res.Items, func(x, y network.Summary) int { return strings.Compare(x.Name, y.Name) })
			switch {
			case quiet && (format == "" || format == "table"):
				format = "{{.ID}}"
			case format == "" || format == "table":
				format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
			}
			return writeNetworkRows(a.stdout, format, res.Items, !noTrunc)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringArrayVarP(&filters, "filter", "f", nil, `Provide filter values (e.g. "driver=bridge")`)
	f.StringVar(&format, "format", "", `"table", "json" or a Go template`)
	return cmd
}

// networkRow is what an ls --format template sees, as docker's; the
// header row answers with column titles.
type networkRow struct {
	n      network.Summary
	trunc  bool
	header bool
}

func (r networkRow) pick(title, value string) string {
	if r.header {
		return title
	}
	return value
}

func (r networkRow) ID() string {
	id := r.n.ID
	if r.trunc && len(id) > 12 {
		id = id[:12]
	}
	return r.pick("NETWORK ID", id)
}
func (r networkRow) Name() string      { return r.pick("NAME", r.n.Name) }
func (r networkRow) Driver() string    { return r.pick("DRIVER", r.n.Driver) }
func (r networkRow) Scope() string     { return r.pick("SCOPE", r.n.Scope) }
func (r networkRow) IPv4() string      { return r.pick("IPV4", fmt.Sprint(r.n.EnableIPv4)) }
func (r networkRow) IPv6() string      { return r.pick("IPV6", fmt.Sprint(r.n.EnableIPv6)) }
func (r networkRow) Internal() string  { return r.pick("INTERNAL", fmt.Sprint(r.n.Internal)) }
func (r networkRow) CreatedAt() string { return r.pick("CREATED AT", r.n.Created.String()) }
func (r networkRow) Label(k string) string {
	return r.pick("LABEL", r.n.Labels[k])
}

// Labels is "k=v,k2=v2", sorted.
func (r networkRow) Labels() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(r.n.Labels)) {
		kv = append(kv, k+"="+r.n.Labels[k])
	}
	return r.pick("LABELS", strings.Join(kv, ","))
}

func (r networkRow) jsonFields() map[string]string {
	return map[string]string{"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(),
		"IPv4": r.IPv4(), "IPv6": r.IPv6(), "Internal": r.Internal(), "Labels": r.Labels(), "CreatedAt": r.CreatedAt()}
}

// writeNetworkRows prints one line per network (see writeRows).
func writeNetworkRows(w io.Writer, format string, nets []network.Summary, trunc bool) error {
	rows := make([]networkRow, 0, len(nets))
	for _, n := range nets {
		rows = append(rows, networkRow{n: n, trunc: trunc})
	}
	return writeRows(w, format, networkRow{header: true}, rows)
}

func (a *app) networkInspectCommand() *cobra.Command {
	return a.kindInspectCommand("inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
		func(ctx context.Context, c *client.Client, ref string) (any, json.RawMessage, error) {
			res, err := c.NetworkInspect(ctx, ref, client.NetworkInspectOptions{})
			return res.Network, res.Raw, err
		})
}

func (a *app) networkRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.forEach(args, func(c *client.Client, ref string) error {
				_, err := c.NetworkRemove(cmd.Context(), ref, client.NetworkRemoveOptions{})
				return err
			})
		},
	}
}

func (a *app) networkConnectCommand() *cobra.Command {
	var (
		aliases, driverOpts []string
		ip, ip6             string
	)
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			es := &network.EndpointSettings{Aliases: aliases, DriverOpts: keyValues(driverOpts)}
			if ip != "" || ip6 != "" {
				ipam, err := endpointIPAM(ip, ip6)
				if err != nil {
					return err
				}
				es.IPAMConfig = ipam
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			_, err = c.NetworkConnect(cmd.Context(), args[0], client.NetworkConnectOptions{Container: args[1], EndpointConfig: es})
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	f.StringVar(&ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	f.StringVar(&ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	f.StringArrayVar(&driverOpts, "driver-opt", nil, "driver options for the network (pier.bandwidth.egress=10mbit, pier.bandwidth.ingress=...)")
	return cmd
}

func (a *app) networkDisconnectCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			_, err = c.NetworkDisconnect(cmd.Context(), args[0], client.NetworkDisconnectOptions{Container: args[1], Force: force})
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

const networkPruneWarning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?"

func (a *app) networkPruneCommand() *cobra.Command {
	var (
		force   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := filterArgs(filters)
			if err != nil {
				return err
			}
			if !force && !confirm(cmd.InOrStdin(), a.stdout, networkPruneWarning) {
				return errors.New("network prune has been cancelled")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.NetworkPrune(cmd.Context(), client.NetworkPruneOptions{Filters: f})
			if err != nil {
				return err
			}
			if len(res.Report.NetworksDeleted) > 0 {
				_, err = fmt.Fprintf(a.stdout, "Deleted Networks:\n%s\n", strings.Join(res.Report.NetworksDeleted, "\n"))
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	fl.StringArrayVar(&filters, "filter", nil, `Provide filter values (e.g. "label=<label>")`)
	return cmd
}
