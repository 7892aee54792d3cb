package main

import (
	"flag"
	"fmt"
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
