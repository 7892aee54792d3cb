package main

import (
	"context"
	_ "embed"
	"flag"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/flotilla-ipfs/flotilla/types"
)

var (
	//go:embed completion.bash.tmpl
	bashCompletion string
	//go:embed completion.zsh.tmpl
	zshCompletion string

	completionTemplates = map[string]*template.Template{
		"bash": template.Must(template.New("bash").Funcs(completionFuncs).Parse(bashCompletion)),
		"zsh":  template.Must(template.New("zsh").Funcs(completionFuncs).Parse(zshCompletion)),
	}
	completionFuncs = template.FuncMap{"join": func(words []string) string { return strings.Join(words, " ") }}
)

func completionShells() []string { return slices.Sorted(maps.Keys(completionTemplates)) }

type completionCommand struct{ base }

func newCompletionCommand(g *globals, name, args string) command {
	return &completionCommand{newBase(g, name, args)}
}

func (c *completionCommand) Run(_ context.Context, args []string) error {
	pos, err := parseArgs(c.fs, args, 1, 1)
	if err != nil {
		return err
	}
	tmpl, ok := completionTemplates[pos[0]]
	if !ok {
		return usageError(c.g, "no completion for %q: want one of %s", pos[0], strings.Join(completionShells(), ", "))
	}
	return tmpl.Execute(c.g.env.Stdout, completionData{Nodes: completionNodes(c.g), FlagWords: flagWords()})
}

type completionData struct {
	Nodes     []completionNode
	FlagWords map[string][]string
}

// completionNode is what the words after one command path complete to.
// Paths start with "flotilla", so that no key is empty (zsh refuses an
// empty key in an associative array).
type completionNode struct {
	Path       string
	Subs       []string // subcommands
	Flags      []string // every flag, as --name
	ValueFlags []string // the flags that take a value
	ArgWords   []string
	ArgFiles   bool
}

// completionNodes walks the command table: each command is made, not run,
// for its flags.
func completionNodes(g *globals) []completionNode {
	root := completionNode{Path: "flotilla", Subs: slices.Sorted(maps.Keys(commandTable()))}
	root.Flags, root.ValueFlags = flagNames(newGlobalFlagSet(&globals{env: g.env}))
	nodes := []completionNode{root}
	var walk func(path string, table map[string]entry)
	walk = func(path string, table map[string]entry) {
		for _, name := range slices.Sorted(maps.Keys(table)) {
			e := table[name]
			n := completionNode{Path: path + " " + name, ArgWords: e.argWords, ArgFiles: e.argFiles}
			if e.make == nil {
				n.Subs = slices.Sorted(maps.Keys(e.subs))
				nodes = append(nodes, n)
				walk(n.Path, e.subs)
				continue
			}
			n.Flags, n.ValueFlags = flagNames(e.makeCommand(g, strings.TrimPrefix(n.Path, "flotilla ")).Flags())
			nodes = append(nodes, n)
		}
	}
	walk("flotilla", commandTable())
	return nodes
}

// flagNames lists a flag set's flags, and those of them that take a value.
func flagNames(fs *flag.FlagSet) (all, valued []string) {
	fs.VisitAll(func(f *flag.Flag) {
		all = append(all, "--"+f.Name)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			valued = append(valued, "--"+f.Name)
		}
	})
	return all, valued
}

// flagWords are the values of the flags that take one of a few words; the
// other flags with a value complete to file names.
func flagWords() map[string][]string {
	return map[string][]string{
		"--filter":    types.StatusFilterNames(),
		"--mode":      {"recursive", "direct"},
		"--log-level": {"debug", "info", "warn", "error"},
	}
}
