package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// verb is the first argument that is not a global flag or a global
// flag's value: the top-level command cobra will run ("" when there is
// none). args are globalArgs' (-c already spelled --context).
func verb(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return ""
		case !strings.HasPrefix(a, "-"):
			return a
		case takesValue[a]:
			i++
		}
	}
	return ""
}

// verbCommand makes the top-level command named name, exactly as
// rootCommand's tree has it (TestVerbCommandsMatchTree), or returns nil
// for names it does not list: groups (container, image, ...), aliases,
// help and completion take the whole tree.
func (a *app) verbCommand(name string) *cobra.Command {
	switch name {
	case "run":
		return a.runCommand()
	case "create":
		return a.createCommand()
	case "start":
		return a.startCommand()
	case "exec":
		return a.execCommand()
	case "attach":
		return a.attachCommand()
	case "ps":
		return a.psCommand("ps")
	case "logs":
		return a.logsCommand()
	case "stop":
		return a.stopCommand()
	case "kill":
		return a.killCommand()
	case "rm":
		return a.rmCommand("rm")
	case "wait":
		return a.waitCommand()
	case "inspect":
		return a.inspectCommand()
	case "port":
		return a.portCommand()
	case "version":
		return a.versionCommand()
	case "info":
		return a.infoCommand()
	case "images":
		return a.imagesCommand("images")
	case "pull":
		return a.pullCommand()
	case "push":
		return a.pushCommand()
	case "tag":
		return a.tagCommand()
	case "rmi":
		return a.rmiCommand("rmi")
	case "save":
		return a.saveCommand()
	case "load":
		return a.loadCommand()
	case "import":
		return a.importCommand()
	case "history":
		return a.historyCommand()
	case "pause":
		return a.pauseCommand()
	case "unpause":
		return a.unpauseCommand()
	case "top":
		return a.topCommand()
	case "rename":
		return a.renameCommand()
	case "restart":
		return a.restartCommand()
	case "events":
		return a.eventsCommand()
	case "stats":
		return a.statsCommand()
	case "update":
		return a.updateCommand()
	case "cp":
		return a.cpCommand()
	case "export":
		return a.exportCommand()
	case "build":
		return a.buildCommand()
	case "commit":
		return a.commitCommand()
	case "diff":
		return a.diffCommand()
	}
	return nil
}
