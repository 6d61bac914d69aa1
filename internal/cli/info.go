package cli

import (
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// infoTemplate is the part of `docker info` that pier has to say.
const infoTemplate = `Server:
 Containers: {{.Containers}}
  Running: {{.ContainersRunning}}
  Paused: {{.ContainersPaused}}
  Stopped: {{.ContainersStopped}}
 Images: {{.Images}}
 Server Version: {{.ServerVersion}}
 Storage Driver: {{.Driver}}
 Logging Driver: {{.LoggingDriver}}
 Cgroup Driver: {{.CgroupDriver}}
 Cgroup Version: {{.CgroupVersion}}
 Runtimes:{{range $name, $_ := .Runtimes}} {{$name}}{{end}}
 Default Runtime: {{.DefaultRuntime}}
 Init Binary: {{.InitBinary}}
 Kernel Version: {{.KernelVersion}}
 Operating System: {{.OperatingSystem}}
 OSType: {{.OSType}}
 Architecture: {{.Architecture}}
 CPUs: {{.NCPU}}
 Total Memory: {{bytes .MemTotal}}
 Name: {{.Name}}
 ID: {{.ID}}
 Pier Root Dir: {{.DockerRootDir}}
{{- range .Warnings}}
{{.}}
{{- end}}
`

func (a *app) infoCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show what pierd knows about the host and its objects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Info(cmd.Context(), client.InfoOptions{})
			if err != nil {
				return err
			}
			if format == "" {
				format = infoTemplate
			}
			return render(a.stdout, format, res.Info)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Go template, or "json"`)
	return cmd
}
