package builder

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// commitChanges are the instructions docker commit --change accepts.
var commitChanges = map[string]bool{"cmd": true, "entrypoint": true, "env": true, "expose": true,
	"label": true, "onbuild": true, "stopsignal": true, "user": true, "volume": true,
	"workdir": true, "healthcheck": true, "shell": true}

// ApplyChanges applies docker commit's --change instructions to cfg.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	st := &stage{run: *cfg}
	for _, change := range changes {
		res, err := parser.Parse(strings.NewReader(change))
		if err != nil {
			return parseError(err)
		}
		for _, n := range res.AST.Children {
			if !commitChanges[strings.ToLower(n.Value)] {
				return invalidf("%s is not a valid change command", strings.ToUpper(n.Value))
			}
			cmd, err := instructions.ParseCommand(n)
			if err != nil {
				return parseError(err)
			}
			if w, ok := cmd.(*instructions.WorkdirCommand); ok {
				st.run.WorkingDir = w.Path
				continue
			}
			if _, err := applyMeta(st, cmd); err != nil {
				return fmt.Errorf("change %q: %w", change, err)
			}
		}
	}
	*cfg = st.run
	return nil
}
