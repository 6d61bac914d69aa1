package cli

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestVerb(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "busybox"}, "run"},
		{[]string{"-H", "unix:///x", "exec", "c", "true"}, "exec"},
		{[]string{"--host=unix:///x", "--tls", "ps"}, "ps"},
		{[]string{"--context", "ctx", "ps", "-a"}, "ps"},
		{[]string{"--config", "run", "ps"}, "ps"},
		{[]string{"--help"}, ""},
		{[]string{}, ""},
		{[]string{"--", "run"}, ""},
	} {
		if got := verb(globalArgs(tc.args)); got != tc.want {
			t.Errorf("verb(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A verb made alone is the whole tree's verb: same usage, flags and
// subcommands, so that taking the short way changes nothing a user sees.
func TestVerbCommandsMatchTree(t *testing.T) {
	a := &app{}
	alone := 0
	for _, full := range a.rootCommand().Commands() {
		cmd := a.verbCommand(full.Name())
		if cmd == nil {
			continue
		}
		alone++
		if got, want := describe(cmd), describe(full); got != want {
			t.Errorf("verb %s made alone differs from the tree's:\n%s\nwant\n%s", full.Name(), got, want)
		}
	}
	if alone < 30 {
		t.Errorf("only %d verbs are made alone; run, exec and the other hot verbs must be", alone)
	}
	if a.verbCommand("container") != nil || a.verbCommand("help") != nil || a.verbCommand("") != nil {
		t.Error("a group, help or no verb must take the whole tree")
	}
}

// describe is what a user can see of cmd: its texts, flags and
// subcommands, recursively.
func describe(cmd *cobra.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %q %v %v %v hidden=%v args=%v run=%v\n", cmd.Use, cmd.Short, cmd.Long, cmd.Example,
		cmd.Aliases, cmd.Annotations, cmd.SilenceUsage, cmd.Hidden, cmd.Args != nil, cmd.RunE != nil || cmd.Run != nil)
	for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			fmt.Fprintf(&b, "  --%s -%s %s %q %q hidden=%v deprecated=%q noopt=%q %v\n", f.Name, f.Shorthand,
				f.Value.Type(), f.DefValue, f.Usage, f.Hidden, f.Deprecated, f.NoOptDefVal, f.Annotations)
		})
	}
	fmt.Fprintf(&b, "  interspersed=%v\n", reflect.ValueOf(cmd.Flags()).Elem().FieldByName("interspersed").Bool())
	for _, sub := range cmd.Commands() {
		b.WriteString(describe(sub))
	}
	return b.String()
}
