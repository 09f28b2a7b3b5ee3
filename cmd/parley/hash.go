package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashPassword is `parley hash-password`: it reads a password from the
// first line of in and prints its bcrypt hash, what --admin-password takes.
// The password comes from stdin rather than an argument so that it stays
// out of the shell's history and the process list.
func hashPassword(args []string, in io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost, %d to %d", bcrypt.MinCost, bcrypt.MaxCost))
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: parley hash-password [-cost n] < password-file\n\nPrints the bcrypt hash of the password on the first line of stdin, for --admin-password.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "parley hash-password: %v\n", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		fmt.Fprintln(stderr, "parley hash-password: no password on stdin")
		return 2
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), *cost)
	if err != nil {
		fmt.Fprintf(stderr, "parley hash-password: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}
