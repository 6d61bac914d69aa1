package pid1

import (
	"errors"
	"strings"
	"time"
)

// DefaultGrace is how long processes left behind by the child get between
// SIGTERM and SIGKILL: short, because the container is already on its way
// out and whoever stops it has its own, longer timeout.
const DefaultGrace = 2 * time.Second

// Config is what pier-init was asked to do.
type Config struct {
	// Args is the command to run and its arguments; Args[0] is looked up
	// in $PATH when it has no slash.
	Args []string
	// Group forwards signals to the child's process group instead of the
	// child alone, so that its children get them too.
	Group bool
	// Grace is the time between SIGTERM and SIGKILL for the processes left
	// when the child exits; 0 sends SIGKILL at once.
	Grace time.Duration
}

// ErrHelp is returned by ParseArgs for -h and --help.
var ErrHelp = errors.New("help requested")

// Usage is pier-init's help text.
const Usage = `usage: pier-init [-g] [--grace DURATION] [--] COMMAND [ARG...]

Runs COMMAND as its child, forwards signals to it, reaps zombies and exits
with its status (128+N if it died of signal N, 127 if not found, 126 if not
executable).

  -g, --group           forward signals to the child's process group
      --grace DURATION  after the child exits, time the remaining processes
                        get between SIGTERM and SIGKILL (default 2s)
  -h, --help            show this help
`

// ParseArgs reads pier-init's command line (without the program name).
// Options come first; the first argument that is not one, or whatever
// follows "--", is the command. It does not use package flag, which would
// pull fmt and reflect into a binary that must stay small.
func ParseArgs(args []string) (Config, error) {
	c := Config{Grace: DefaultGrace}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if a == "" || a[0] != '-' || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-g", "--group", "-group":
			if hasValue {
				return c, errors.New("option " + name + " takes no value")
			}
			c.Group = true
		case "--grace", "-grace":
			if !hasValue {
				if i+1 == len(args) {
					return c, errors.New("option " + name + " needs a duration")
				}
				i++
				value = args[i]
			}
			d, err := time.ParseDuration(value)
			if err != nil {
				return c, errors.New("option " + name + ": " + err.Error())
			}
			if d < 0 {
				return c, errors.New("option " + name + ": negative duration " + value)
			}
			c.Grace = d
		case "-h", "--help", "-help":
			return c, ErrHelp
		default:
			return c, errors.New("unknown option " + name)
		}
	}
	c.Args = args[i:]
	if len(c.Args) == 0 {
		return c, errors.New("no command given")
	}
	return c, nil
}
