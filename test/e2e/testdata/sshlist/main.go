// Command sshlist prints the comments of the keys the ssh-agent at
// $SSH_AUTH_SOCK holds (SSH2_AGENTC_REQUEST_IDENTITIES), one a line: a
// static stand-in for ssh-add -l inside a busybox build step.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if err := list(os.Getenv("SSH_AUTH_SOCK")); err != nil {
		fmt.Fprintln(os.Stderr, "sshlist:", err)
		os.Exit(1)
	}
}

func list(sock string) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte{0, 0, 0, 1, 11}); err != nil {
		return err
	}
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return err
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(c, msg); err != nil {
		return err
	}
	if len(msg) < 5 || msg[0] != 12 {
		return fmt.Errorf("agent answered type %d", msg[0])
	}
	keys, rest := binary.BigEndian.Uint32(msg[1:5]), msg[5:]
	str := func() ([]byte, error) {
		if len(rest) < 4 {
			return nil, io.ErrUnexpectedEOF
		}
		l := binary.BigEndian.Uint32(rest)
		if uint32(len(rest)-4) < l {
			return nil, io.ErrUnexpectedEOF
		}
		s := rest[4 : 4+l]
		rest = rest[4+l:]
		return s, nil
	}
	for i := uint32(0); i < keys; i++ {
		if _, err := str(); err != nil {
			return err
		}
		comment, err := str()
		if err != nil {
			return err
		}
		fmt.Println(string(comment))
	}
	return nil
}
