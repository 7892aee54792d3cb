package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// parseArgs parses flags that come before, between or after the positional
// arguments (`pin add CID --name x` as well as `pin add --name x CID`), as
// users of ipfs and ipfs-cluster-ctl type them. "--" ends the flags. It
// wants between minArgs and maxArgs positional arguments (maxArgs < 0: any).
func parseArgs(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		fmt.Fprintf(fs.Output(), "flotilla %s: wrong number of arguments\n", fs.Name())
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// subcommand is one verb of a command group such as `pin`.
type subcommand struct {
	args    string
	summary string
	run     func(ctx context.Context, g *globals, name string, args []string) error
}

// dispatch runs the subcommand args[0] of the group.
func dispatch(ctx context.Context, g *globals, group string, subs map[string]subcommand, args []string) error {
	if len(args) > 0 {
		if sub, ok := subs[args[0]]; ok {
			return sub.run(ctx, g, group+" "+args[0], args[1:])
		}
	}
	help := len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
	if len(args) > 0 && !help {
		fmt.Fprintf(g.env.Stderr, "flotilla %s: unknown subcommand %q\n", group, args[0])
	}
	fmt.Fprintf(g.env.Stderr, "usage: flotilla %s <subcommand> [flags]\n\nsubcommands:\n", group)
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(g.env.Stderr, "  %-28s %s\n", strings.TrimSpace(n+" "+subs[n].args), subs[n].summary)
	}
	if help {
		return flag.ErrHelp
	}
	return errUsage
}
