package main

import (
	"flag"
	"fmt"
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
		if endedByDashes(fs, args[:len(args)-len(rest)]) {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
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

// endedByDashes says whether the flag package stopped at a "--", which it
// drops: then what follows is positional, flags or not. The words it
// consumed are flags and their values, walked in pairs so that a "--" given
// as a flag's value (--name --) does not count.
func endedByDashes(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		if consumed[i] == "--" {
			return i == len(consumed)-1
		}
		if takesSeparateValue(fs, consumed[i]) {
			i++
		}
	}
	return false
}

// takesSeparateValue says whether the flag word arg takes the next word as
// its value: a flag that is not boolean, given without "=value".
func takesSeparateValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}
