package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// namespace is an entry of pierd's GET /containers/{id}/ns.
type namespace struct {
	Type   string `json:"type"`
	Inode  uint64 `json:"inode"`
	Path   string `json:"path"`
	Shared bool   `json:"shared"`
}

// nsCommand lists a container's namespaces as `ls -l /proc/PID/ns` does,
// marking those it shares with the host.
func (a *app) nsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ns CONTAINER",
		Short: "List a container's namespaces (pier extension)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ns, err := getNamespaces(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			for _, n := range ns {
				mark := ""
				if n.Shared {
					mark = "  (shared with the host)"
				}
				fmt.Fprintf(a.stdout, "%s -> %s:[%d]%s\n", n.Type, strings.TrimSuffix(n.Type, "_for_children"), n.Inode, mark)
			}
			return nil
		},
	}
}

// getNamespaces asks pierd for GET /containers/{id}/ns, which the moby
// client does not know, over the client's own connection to the daemon.
// HTTP/1.0 keeps the answer unchunked and ends it with the connection.
func getNamespaces(ctx context.Context, c *client.Client, ref string) ([]namespace, error) {
	conn, err := c.Dialer()(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.DaemonHost(), err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	path := "/containers/" + url.PathEscape(ref) + "/ns"
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: pierd\r\n\r\n", path); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if strings.TrimSpace(line) == "" {
			break
		}
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		var e struct{ Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("Error response from daemon: %s", e.Message)
		}
		return nil, fmt.Errorf("GET %s: %s", path, strings.TrimSpace(status))
	}
	var ns []namespace
	if err := json.Unmarshal(body, &ns); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return ns, nil
}
