package cli

import (
	"runtime"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/version"
)

// versionTemplate follows `docker version`, with pier's components.
const versionTemplate = `Client:
 Version:           {{.Client.Version}}
 API version:       {{.Client.APIVersion}}
 Go version:        {{.Client.GoVersion}}
 OS/Arch:           {{.Client.Os}}/{{.Client.Arch}}
{{- if .Server}}

Server:{{if .Server.Platform.Name}} {{.Server.Platform.Name}}{{end}}
{{- range .Server.Components}}
 {{.Name}}:
  Version:          {{.Version}}
{{- if eq .Name "Engine"}}
  API version:      {{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:       {{index .Details "GoVersion"}}
  Git commit:       {{index .Details "GitCommit"}}
  OS/Arch:          {{index .Details "Os"}}/{{index .Details "Arch"}}
  Kernel version:   {{index .Details "KernelVersion"}}
{{- else}}
{{- range $k, $v := .Details}}
  {{printf "%-18s" (printf "%s:" $k)}}{{$v}}
{{- end}}
{{- end}}
{{- end}}
{{- end}}
`

// clientVersion is the client section of `pier version`.
type clientVersion struct {
	Version    string
	APIVersion string `json:"ApiVersion"`
	GoVersion  string
	Os, Arch   string
}

// versionInfo is what `pier version --format` sees.
type versionInfo struct {
	Client clientVersion
	Server *client.ServerVersionResult `json:",omitempty"`
}

func (a *app) versionCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the versions of pier and pierd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			v := versionInfo{Client: clientVersion{
				Version: version.Version, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH,
			}}
			sv, serr := c.ServerVersion(cmd.Context(), client.ServerVersionOptions{})
			if serr == nil {
				v.Server = &sv
			}
			// Known only now: the version the client negotiated.
			v.Client.APIVersion = c.ClientVersion()
			if format == "" {
				format = versionTemplate
			}
			// Like docker, show the client's half even without a daemon.
			if err := render(a.stdout, format, v); err != nil {
				return err
			}
			if serr != nil {
				return serr
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Go template, or "json"`)
	return cmd
}
