package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/logging"
)

// Env is the process environment a command runs in, passed in so that
// tests run commands in-process.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  *os.File
	Environ []string
	// IsTerminal says whether Stdin, Stdout or Stderr is a terminal; nil
	// looks at the file's mode. Tests set it to see the terminal's side.
	IsTerminal func(stream any) bool
	// AnswerWait, when set, replaces defaultAnswerWait, so that tests of a
	// peer that answers nothing take seconds.
	AnswerWait time.Duration
}

func (e Env) terminal(stream any) bool {
	if e.IsTerminal != nil {
		return e.IsTerminal(stream)
	}
	return isTerminal(stream)
}

func (e Env) getenv(key string) string {
	for _, kv := range e.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// globals are the flags that come before the command name; --path and
// --log-level may also come after it.
type globals struct {
	env      Env
	flags    *flag.FlagSet
	path     string
	logLevel string
	// api is --api given before the command, as ipfs-cluster-ctl's users
	// write --host first; a client command's own --api wins over it.
	api string
}

// newGlobalFlagSet binds the flags that come before the command name to g.
func newGlobalFlagSet(g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet("flotilla", flag.ContinueOnError)
	g.flags = fs
	fs.SetOutput(g.env.Stderr)
	fs.StringVar(&g.path, "path", "", "home folder (default $FLOTILLA_PATH, else ~/.flotilla)")
	g.logLevel = "info"
	fs.Var((*levelFlag)(&g.logLevel), "log-level", "log `level`: debug, info, warn, error")
	fs.StringVar(&g.api, "api", "", "admin API `URL` of the client commands, as their own --api")
	fs.Usage = func() { usage(fs.Output(), fs) }
	return fs
}

// levelFlag is --log-level, checked as it is parsed: only the daemon logs,
// and a bad level must not pass unnoticed before any other command.
type levelFlag string

func (l *levelFlag) String() string { return string(*l) }

func (l *levelFlag) Set(s string) error {
	if _, err := logging.ParseLevel(s); err != nil {
		return err
	}
	*l = levelFlag(s)
	return nil
}

// errUsage marks a mistake in the command line; it exits with status 2.
var errUsage = errors.New("usage")

// Run executes one command line and returns the exit status.
func Run(ctx context.Context, args []string, env Env) int {
	g := &globals{env: env}
	fs := newGlobalFlagSet(g)
	if err := parseFlags(fs, args); err != nil {
		return exitHelpOrUsage(env, err)
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
			return exitHelpOrUsage(env, err)
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		var failed *commandFailed
		if errors.As(err, &failed) {
			fmt.Fprintf(env.Stderr, "flotilla %s\n", printable(failed.Error()))
		} else {
			// The message may carry the API's text: a pin's name, a peer's error.
			fmt.Fprintf(env.Stderr, "flotilla %s: %s\n", name, printable(err.Error()))
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: flotilla [--path DIR] [--log-level LEVEL] [--api URL] <command> [args]")
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
		fmt.Fprintln(fs.Output(), strings.TrimSpace("usage: flotilla "+name+" [flags] "+args))
		fs.PrintDefaults()
	}
	return fs
}

// helpAsked is an asked-for help (-h, --help): its text belongs on stdout,
// where `flotilla --help | less` reads it, and the exit status is 0.
type helpAsked struct{ text []byte }

func (h *helpAsked) Error() string { return "help asked for" }

func (h *helpAsked) Is(target error) bool { return target == flag.ErrHelp }

// parseFlags parses args with fs. The flag package writes an asked-for help
// and a mistake's usage to the same output, and only the outcome tells
// them apart, so its output is held until then: a mistake's goes to the
// flag set's output (stderr) at once, an asked-for help back to Run.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	var held bytes.Buffer
	fs.SetOutput(&held)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		return &helpAsked{text: held.Bytes()}
	}
	_, _ = out.Write(held.Bytes())
	if err != nil {
		return errUsage
	}
	return nil
}

// exitHelpOrUsage prints an asked-for help on stdout and exits 0; any other
// parse error has had its usage printed on stderr, and exits 2.
func exitHelpOrUsage(env Env, err error) int {
	var help *helpAsked
	if errors.As(err, &help) {
		_, _ = env.Stdout.Write(help.text)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
