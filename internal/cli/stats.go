package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// statsCommands: stats and update.
func (a *app) statsCommands() []*cobra.Command {
	return []*cobra.Command{a.statsCommand(), a.updateCommand()}
}

func (a *app) statsCommand() *cobra.Command {
	var noStream bool
	cmd := &cobra.Command{
		Use:   "stats [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				list, err := c.ContainerList(cmd.Context(), client.ContainerListOptions{})
				if err != nil {
					return err
				}
				for _, s := range list.Items {
					args = append(args, s.ID)
				}
			}
			prev := map[string]container.StatsResponse{}
			for {
				rows := make([]container.StatsResponse, 0, len(args))
				for _, id := range args {
					st, err := oneStats(cmd, c, id)
					if err != nil {
						return err
					}
					if p, ok := prev[id]; ok {
						st.PreCPUStats = p.CPUStats
					}
					prev[id] = st
					rows = append(rows, st)
				}
				if !noStream {
					fmt.Fprint(a.stdout, "\033[2J\033[H") // repaint the table in place
				}
				printStats(a.stdout, rows)
				if noStream {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	return cmd
}

func oneStats(cmd *cobra.Command, c *client.Client, id string) (container.StatsResponse, error) {
	var st container.StatsResponse
	res, err := c.ContainerStats(cmd.Context(), id, client.ContainerStatsOptions{})
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("stats of %s: %w", id, err)
	}
	return st, nil
}

// printStats writes docker's stats table.
func printStats(out io.Writer, rows []container.StatsResponse) {
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, st := range rows {
		memPct := 0.0
		if st.MemoryStats.Limit != 0 {
			memPct = float64(st.MemoryStats.Usage) / float64(st.MemoryStats.Limit) * 100
		}
		name := st.Name
		if len(name) > 0 && name[0] == '/' {
			name = name[1:]
		}
		rx, tx := netIO(st)
		rd, wr := blockIO(st)
		fmt.Fprintf(tw, "%.12s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%s / %s\t%d\n", st.ID, name, cpuPercent(st),
			units.BytesSize(float64(st.MemoryStats.Usage)), units.BytesSize(float64(st.MemoryStats.Limit)), memPct,
			units.HumanSizeWithPrecision(rx, 3), units.HumanSizeWithPrecision(tx, 3),
			units.HumanSizeWithPrecision(rd, 3), units.HumanSizeWithPrecision(wr, 3), st.PidsStats.Current)
	}
	tw.Flush()
}

// netIO sums what every interface received and sent.
func netIO(st container.StatsResponse) (rx, tx float64) {
	for _, n := range st.Networks {
		rx += float64(n.RxBytes)
		tx += float64(n.TxBytes)
	}
	return rx, tx
}

// blockIO sums the bytes read and written on every device.
func blockIO(st container.StatsResponse) (read, write float64) {
	for _, e := range st.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			read += float64(e.Value)
		case "write":
			write += float64(e.Value)
		}
	}
	return read, write
}

// cpuPercent is docker's: the container's share of the host's cpu time
// between two samples, times the cpus.
func cpuPercent(st container.StatsResponse) float64 {
	cpu := float64(st.CPUStats.CPUUsage.TotalUsage) - float64(st.PreCPUStats.CPUUsage.TotalUsage)
	sys := float64(st.CPUStats.SystemUsage) - float64(st.PreCPUStats.SystemUsage)
	if st.PreCPUStats.SystemUsage == 0 || sys <= 0 || cpu < 0 {
		return 0
	}
	return cpu / sys * float64(st.CPUStats.OnlineCPUs) * 100
}

func (a *app) updateCommand() *cobra.Command {
	var (
		memory, swap string
		cpus         float64
		shares, pids int64
	)
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res container.Resources
			for _, m := range []struct {
				flag, v string
				dst     *int64
			}{{"memory", memory, &res.Memory}, {"memory-swap", swap, &res.MemorySwap}} {
				if m.v == "" {
					continue
				}
				if m.v == "-1" {
					*m.dst = -1
					continue
				}
				n, err := units.RAMInBytes(m.v)
				if err != nil {
					return fmt.Errorf("invalid argument %q for \"--%s\" flag: %w", m.v, m.flag, err)
				}
				*m.dst = n
			}
			res.NanoCPUs, res.CPUShares = int64(cpus*1e9), shares
			if cmd.Flags().Changed("pids-limit") {
				res.PidsLimit = &pids
			}
			return a.forEach(args, func(c *client.Client, id string) error {
				_, err := c.ContainerUpdate(cmd.Context(), id, client.ContainerUpdateOptions{Resources: &res})
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&memory, "memory", "m", "", "Memory limit")
	f.StringVar(&swap, "memory-swap", "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	f.Float64Var(&cpus, "cpus", 0, "Number of CPUs")
	f.Int64VarP(&shares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&pids, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	return cmd
}
