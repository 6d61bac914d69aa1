package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// loginCommands are login and logout. As with docker, pierd checks the
// credentials with the registry and the client keeps them (credentials.go).
func (a *app) loginCommands() []*cobra.Command {
	return []*cobra.Command{a.loginCommand(), a.logoutCommand()}
}

func (a *app) loginCommand() *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]",
		Short: "Log in to a registry (Docker Hub by default)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			if password != "" && passwordStdin {
				return errors.New("--password and --password-stdin are mutually exclusive")
			}
			if password != "" {
				fmt.Fprintln(a.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			if user == "" {
				return errors.New("login: a username is required (-u)")
			}
			if password == "" {
				if !passwordStdin {
					fmt.Fprint(a.stderr, "Password: ")
				}
				p, err := readPassword(cmd.InOrStdin())
				if err != nil {
					return err
				}
				password = p
			}
			key := loginKey(server)
			return a.withClient(func(c *client.Client) error {
				res, err := c.RegistryLogin(cmd.Context(), client.RegistryLoginOptions{
					Username: user, Password: password, ServerAddress: key})
				if err != nil {
					return err
				}
				if err := a.storeLogin(key, user, password); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, res.Auth.Status)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "Username")
	cmd.Flags().StringVarP(&password, "password", "p", "", "Password")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "Take the password from stdin")
	return cmd
}

// readPassword reads the first line of r, as docker login does with
// --password-stdin, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("login: a password is required")
	}
	return line, nil
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Remove the stored credentials for a registry (Docker Hub by default)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			key := loginKey(server)
			if err := a.storeLogin(key, "", ""); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "Removing login credentials for "+key)
			return nil
		},
	}
}
