package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Env is the process environment a command runs in, passed in so that
// tests run commands in-process.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  *os.File
	Environ []string
}

func (e Env) getenv(key string) string {
	for _, kv := range e.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

type command struct {
	summary string
	run     func(ctx context.Context, g *globals, args []string) error
}

var commands = map[string]command{
	"init":    {"write service.json and identity.json into the home folder", runInit},
	"daemon":  {"run the peer", runDaemon},
	"version": {"print the version", runVersion},
	"id":      {"show the peer behind the API", runID},
	"peers":   {"list or remove cluster peers (ls, rm)", runPeers},
	"pin":     {"pin, unpin, list and update pins (add, rm, ls, update)", runPin},
	"status":  {"show every peer's status of pins", runStatus},
	"recover": {"retry failed pins and unpins", runRecover},
	"alloc":   {"show where pins are allocated (ls)", runAlloc},
	"health":  {"show alerts and metrics (alerts, metrics)", runHealth},
	"add":     {"add files to IPFS and pin them in the cluster", runAdd},
	"state":   {"export or import a stopped peer's pinset (export, import)", runState},
}

// globals are the flags that come before the command name.
type globals struct {
	env      Env
	path     string
	logLevel string
}

// errUsage marks a mistake in the command line; it exits with status 2.
var errUsage = errors.New("usage")

// Run executes one command line and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	g := &globals{env: env}
	fs := flag.NewFlagSet("flotilla", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&g.path, "path", "", "home folder (default $FLOTILLA_PATH, else ~/.flotilla)")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() { usage(env.Stderr, fs) }
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
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "flotilla: unknown command %q\n", name)
		usage(env.Stderr, fs)
		return 2
	}
	if err := cmd.run(ctx, g, fs.Args()[1:]); err != nil {
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
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
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
		fmt.Fprintf(g.env.Stderr, "usage: flotilla %s %s\n", name, args)
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
