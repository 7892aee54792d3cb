package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// command is one leaf of the command line, in litestream's style: one type
// per command, made with its flags bound to its fields, then Run. Being
// made without running lets the table list every command's flags (the
// completion scripts do).
type command interface {
	Flags() *flag.FlagSet
	Run(ctx context.Context, args []string) error
}

// entry is a node of the command table: a command, or a group of them
// (`pin add`, `pin rm`...).
type entry struct {
	summary string
	// args are the positional arguments, as usage shows them.
	args string
	// make builds the command called name; nil for a group.
	make func(g *globals, name, args string) command
	subs map[string]entry
	// argWords are the words a positional argument completes to;
	// argFiles, that it completes to file names.
	argWords []string
	argFiles bool
}

// commandTable is every command of the binary: usage, dispatch and the
// completion scripts are all made from it.
func commandTable() map[string]entry {
	return map[string]entry{
		"init":    {summary: "write service.json and identity.json into the home folder", make: newInitCommand},
		"daemon":  {summary: "run the peer", make: newDaemonCommand},
		"version": {summary: "print the version", make: newVersionCommand},
		"id":      {summary: "show the peer behind the API", make: newIDCommand},
		"peers": {summary: "list or remove cluster peers", subs: map[string]entry{
			"ls": {summary: "list the cluster's peers", make: newPeersLsCommand},
			"rm": {summary: "remove a peer from the cluster", args: "<peer ID>", make: newPeersRmCommand},
		}},
		"pin": {summary: "pin, unpin, list and update pins", subs: map[string]entry{
			"add":    {summary: "pin in the cluster", args: "<cid|/ipfs/path>", make: newPinAddCommand},
			"rm":     {summary: "unpin from the cluster", args: "<cid|/ipfs/path>", make: newPinRmCommand},
			"ls":     {summary: "list the pinset with each pin's options", args: "[cid]", make: newPinLsCommand},
			"update": {summary: "pin <to> with <from>'s options, as its replacement", args: "<from cid> <to cid|/ipfs/path>", make: newPinUpdateCommand},
		}},
		"status":  {summary: "show every peer's status of pins", args: "[cid...]", make: newStatusCommand},
		"recover": {summary: "retry failed pins and unpins", args: "[cid]", make: newRecoverCommand},
		"alloc": {summary: "show where pins are allocated", subs: map[string]entry{
			"ls": {summary: "list which peers each pin is allocated to", args: "[cid]", make: newAllocLsCommand},
		}},
		"health": {summary: "show alerts and metrics", subs: map[string]entry{
			"alerts":  {summary: "list the alerts of expired peer metrics", make: newHealthAlertsCommand},
			"metrics": {summary: "list metric names, or every peer's latest value of one", args: "[name]", make: newHealthMetricsCommand},
		}},
		"add": {summary: "add files to IPFS and pin them in the cluster", args: "FILE...", make: newAddCommand, argFiles: true},
		"state": {summary: "export, import or recover a stopped peer's state", subs: map[string]entry{
			"export": {summary: "write the pinset of a stopped peer as ndjson (ipfs-cluster's format)", make: newStateExportCommand},
			"import": {summary: "replace the pinset of a stopped peer with an export", make: newStateImportCommand},
			"recover-quorum": {summary: "make a stopped peer the only voter, after its cluster lost a majority of voters for good",
				make: newStateRecoverQuorumCommand},
		}},
		"completion": {summary: "print a shell completion script", args: "bash|zsh", make: newCompletionCommand,
			argWords: completionShells()},
	}
}

// run runs the entry called name: its command, or the subcommand that
// args start with.
func (e entry) run(ctx context.Context, g *globals, name string, args []string) error {
	if e.make != nil {
		err := e.makeCommand(g, name).Run(ctx, args)
		if err == nil || errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &commandFailed{path: name, err: err}
	}
	if len(args) > 0 {
		if sub, ok := e.subs[args[0]]; ok {
			return sub.run(ctx, g, name+" "+args[0], args[1:])
		}
	}
	help := len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
	if len(args) > 0 && !help {
		fmt.Fprintf(g.env.Stderr, "flotilla %s: unknown subcommand %q\n", name, args[0])
	}
	var text bytes.Buffer
	fmt.Fprintf(&text, "usage: flotilla %s <subcommand> [flags]\n\nsubcommands:\n", name)
	t := newTable(&text)
	for _, n := range slices.Sorted(maps.Keys(e.subs)) {
		t.row("", strings.TrimSpace(n+" "+e.subs[n].args), e.subs[n].summary)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if help {
		return &helpAsked{text: text.Bytes()}
	}
	_, _ = g.env.Stderr.Write(text.Bytes())
	return errUsage
}

// commandFailed is the failure of the command at path (`state import`),
// which Run names in its message rather than the top command alone.
type commandFailed struct {
	path string
	err  error
}

func (c *commandFailed) Error() string { return c.path + ": " + c.err.Error() }

func (c *commandFailed) Unwrap() error { return c.err }

// globalsAfterTheCommand are the global flags that a command also takes
// after its name (`flotilla init --path DIR`). --api is not among them: the
// client commands have their own, which falls back to the global one.
var globalsAfterTheCommand = []string{"path", "log-level"}

// makeCommand makes the command called name, with the global flags of
// globalsAfterTheCommand added to its own, bound to the same globals as
// before the name; the command's own flag of the same name wins.
func (e entry) makeCommand(g *globals, name string) command {
	cmd := e.make(g, name, e.args)
	if g.flags == nil {
		return cmd
	}
	fs := cmd.Flags()
	for _, n := range globalsAfterTheCommand {
		global := g.flags.Lookup(n)
		if global == nil || fs.Lookup(n) != nil {
			continue
		}
		fs.Var(global.Value, global.Name, global.Usage)
		// The value bound may already hold what came before the command;
		// the default shown is the global flag's.
		fs.Lookup(n).DefValue = global.DefValue
	}
	return cmd
}

// listCommands writes the top-level commands with their summaries; a
// group's names its subcommands.
func listCommands(w io.Writer, table map[string]entry) error {
	t := newTable(w)
	for _, n := range slices.Sorted(maps.Keys(table)) {
		summary := table[n].summary
		if subs := table[n].subs; subs != nil {
			summary += " (" + strings.Join(slices.Sorted(maps.Keys(subs)), ", ") + ")"
		}
		t.row("", n, summary)
	}
	return t.flush()
}

// base is what every command has: the globals and its flag set.
type base struct {
	g  *globals
	fs *flag.FlagSet
}

func newBase(g *globals, name, args string) base {
	return base{g: g, fs: newFlagSet(g, name, args)}
}

func (b base) Flags() *flag.FlagSet { return b.fs }
