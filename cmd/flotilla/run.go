package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Env is the process environment a command runs in, passed in so that
// tests run commands in-process.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  *os.File
	Environ []string
	// IsTerminal says whether a writer is a terminal; nil looks at the
	// file's mode. Tests set it to see the terminal's output.
	IsTerminal func(io.Writer) bool
}

func (e Env) terminal(w io.Writer) bool {
	if e.IsTerminal != nil {
		return e.IsTerminal(w)
	}
	return isTerminal(w)
}

func (e Env) getenv(key string) string {
	for _, kv := range e.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// globals are the flags that come before the command name.
type globals struct {
	env      Env
	path     string
	logLevel string
}

// newGlobalFlagSet binds the flags that come before the command name to g.
func newGlobalFlagSet(g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet("flotilla", flag.ContinueOnError)
	fs.SetOutput(g.env.Stderr)
	fs.StringVar(&g.path, "path", "", "home folder (default $FLOTILLA_PATH, else ~/.flotilla)")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() { usage(g.env.Stderr, fs) }
	return fs
}

// errUsage marks a mistake in the command line; it exits with status 2.
var errUsage = errors.New("usage")

// Run executes one command line and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	g := &globals{env: env}
	fs := newGlobalFlagSet(g)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		usage(env.Stderr, fs)
		return 2
	}
	name := fs.Arg(0)
	cmd, ok := commandTable()[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "flotilla: unknown command %q\n", name)
		usage(env.Stderr, fs)
		return 2
	}
	if err := cmd.run(ctx, g, name, fs.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(env.Stderr, "flotilla %s: %v\n", name, err)
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: flotilla [--path DIR] [--log-level LEVEL] <command> [args]")
	fmt.Fprintln(w, "\ncommands:")
	listCommands(w, commandTable())
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
}

// home resolves the home folder: --path, else $FLOTILLA_PATH, else ~/.flotilla.
func (g *globals) home() (string, error) {
	if g.path != "" {
		return filepath.Abs(g.path)
	}
	if p := g.env.getenv("FLOTILLA_PATH"); p != "" {
		return filepath.Abs(p)
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home folder: set --path or FLOTILLA_PATH: %w", err)
	}
	return filepath.Join(h, ".flotilla"), nil
}

func newFlagSet(g *globals, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(g.env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(g.env.Stderr, strings.TrimSpace("usage: flotilla "+name+" [flags] "+args))
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
