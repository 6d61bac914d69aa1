package ocicli

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/runtime"
	"github.com/pier-engine/pier/internal/signame"
)

// stateJSON is runc's `state` output: the OCI state plus rootfs, created
// and owner.
type stateJSON struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func toStateJSON(rt *runtime.Runtime, rec *runtime.Record) *stateJSON {
	st := rt.OCIState(rec)
	return &stateJSON{
		OCIVersion: st.Version, ID: st.ID, Pid: st.Pid, Status: string(st.Status), Bundle: st.Bundle,
		Rootfs: rec.Rootfs, Created: rec.Created, Owner: rec.Owner, Annotations: st.Annotations,
	}
}

func stateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "state ID",
		Short: "print the state of a container as JSON",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			rec, _, err := rt.Record(args[0])
			if err != nil {
				return err
			}
			return printJSON(toStateJSON(rt, rec))
		},
	}
}

func listCmd(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list containers",
		Args:    exactArgs(0, "none"),
		RunE: func(_ *cobra.Command, _ []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			recs, err := rt.List()
			if err != nil {
				return err
			}
			var states []*stateJSON
			for _, rec := range recs {
				states = append(states, toStateJSON(rt, rec))
			}
			return printList(states, format, quiet)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only ids")
	return cmd
}

func printList(states []*stateJSON, format string, quiet bool) error {
	switch {
	case quiet:
		for _, s := range states {
			fmt.Println(s.ID)
		}
	case format == "json":
		if states == nil {
			states = []*stateJSON{}
		}
		return printJSON(states)
	case format == "table":
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		return w.Flush()
	default:
		return fmt.Errorf("--format: %q is neither table nor json", format)
	}
	return nil
}

func killCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] ID [SIGNAL]",
		Short: "send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			name := "TERM"
			if len(args) == 2 {
				name = args[1]
			}
			sig, err := signame.Parse(name)
			if err != nil {
				return err
			}
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Kill(args[0], sig, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process in the container")
	return cmd
}

func deleteCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [-f] ID",
		Short: "delete a stopped container (with -f, kill it first)",
		Args:  exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Delete(args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill the container if it is not stopped")
	return cmd
}

func pauseCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "pause ID", Short: "freeze every process of a container", Args: exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Pause(args[0])
		},
	}
}

func resumeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "resume ID", Short: "thaw a paused container", Args: exactArgs(1, "container id"),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			return rt.Resume(args[0])
		},
	}
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
