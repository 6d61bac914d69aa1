package cli

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// portCommand is `pier port CONTAINER [PRIVATE_PORT[/PROTO]]`: the
// container's published ports, as docker prints them.
func (a *app) portCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var want *network.Port
			if len(args) == 2 {
				p, err := network.ParsePort(args[1])
				if err != nil {
					return fmt.Errorf("%s: %w", args[1], err)
				}
				want = &p
			}
			return a.withClient(func(c *client.Client) error {
				res, err := c.ContainerInspect(cmd.Context(), args[0], client.ContainerInspectOptions{})
				if err != nil {
					return err
				}
				var ports network.PortMap
				if ns := res.Container.NetworkSettings; ns != nil {
					ports = ns.Ports
				}
				return writePorts(a.stdout, args[0], ports, want)
			})
		},
	}
}

// writePorts prints "80/tcp -> 0.0.0.0:8080" lines in port order, or with
// want only the host addresses of that port; a port not published is
// docker's error.
func writePorts(w io.Writer, ctr string, ports network.PortMap, want *network.Port) error {
	keys := make([]network.Port, 0, len(ports))
	for p, bs := range ports {
		if len(bs) > 0 && (want == nil || p == *want) {
			keys = append(keys, p)
		}
	}
	if want != nil && len(keys) == 0 {
		return fmt.Errorf("no public port '%s' published for %s", want, ctr)
	}
	slices.SortFunc(keys, func(a, b network.Port) int {
		return cmp.Or(cmp.Compare(a.Num(), b.Num()), cmp.Compare(a.Proto(), b.Proto()))
	})
	for _, p := range keys {
		for _, b := range ports[p] {
			host := "0.0.0.0"
			if b.HostIP.IsValid() {
				host = b.HostIP.String()
			}
			addr := net.JoinHostPort(host, b.HostPort)
			if want != nil {
				fmt.Fprintln(w, addr)
			} else {
				fmt.Fprintf(w, "%s -> %s\n", p, addr)
			}
		}
	}
	return nil
}
