package main

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// completionScript writes `flotilla completion <shell>` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := runCLI(t, nil, nil, "completion", shell)
	if r.code != 0 {
		t.Fatalf("completion %s: %s", shell, r)
	}
	path := filepath.Join(t.TempDir(), "flotilla."+shell)
	if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// completer answers what the shell completes each command line to; the
// last word of a line is the one being completed ("" after a space). One
// shell runs them all.
type completer func(t *testing.T, lines ...string) [][]string

// runCompletions runs setup, then try with the words of each line, in one
// shell; try prints the candidates and a line "@@".
func runCompletions(t *testing.T, shell, setup string, lines []string) [][]string {
	t.Helper()
	var script strings.Builder
	script.WriteString(setup + "\n")
	for _, line := range lines {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		script.WriteString("_try")
		for _, w := range words {
			script.WriteString(" '" + w + "'")
		}
		script.WriteString("\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, shell, "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", shell, err, out)
	}
	blocks := strings.Split(string(out), "@@\n")
	if len(blocks) != len(lines)+1 {
		t.Fatalf("%s answered %d completions for %d lines:\n%s", shell, len(blocks)-1, len(lines), out)
	}
	answers := make([][]string, len(lines))
	for i := range lines {
		answers[i] = strings.Fields(blocks[i])
	}
	return answers
}

// bashCompleter calls the bash script's function as bash's completion
// does, with COMP_WORDS and COMP_CWORD set.
func bashCompleter(t *testing.T) completer {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	script := completionScript(t, "bash")
	return func(t *testing.T, lines ...string) [][]string {
		return runCompletions(t, bash, `source `+script+`
_try() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _flotilla; printf '%s\n' "${COMPREPLY[@]}" @@; }`, lines)
	}
}

// zshCompleter calls the zsh script's function with words and CURRENT
// set, and compadd, compset and _files standing in for zsh's completion
// system.
func zshCompleter(t *testing.T) completer {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh here")
	}
	script := completionScript(t, "zsh")
	return func(t *testing.T, lines ...string) [][]string {
		return runCompletions(t, zsh, `compdef() { :; }
compadd() { [[ $1 == -- ]] && shift; local w; for w in "$@"; do [[ $w == ${PREFIX}* ]] && print -r -- "$IPREFIX$w"; done; true; }
compset() { [[ $1 == -P && $PREFIX == *,* ]] && IPREFIX=${PREFIX%,*}, && PREFIX=${PREFIX##*,}; true; }
_files() { print -r -- FILES; }
source `+script+`
_try() { words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}; IPREFIX=; _flotilla; print @@; }`, lines)
	}
}

func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line string
		want []string
	}{
		{"flotilla pi", []string{"pin"}},
		{"flotilla pin ", []string{"add", "ls", "rm", "update"}},
		{"flotilla --log-level debug pin u", []string{"update"}},
		{"flotilla pin add --wait", []string{"--wait", "--wait-limit", "--wait-timeout"}},
		{"flotilla pin add --no-", []string{"--no-status"}},
		{"flotilla status --filter pin", []string{"pin_error", "pin_queued", "pinned", "pinning"}},
		{"flotilla status --filter pinned,unpin_", []string{"pinned,unpin_error", "pinned,unpin_queued"}},
		{"flotilla status --filter u", []string{"unexpectedly_unpinned", "unpin_error", "unpin_queued", "unpinned", "unpinning"}},
		{"flotilla pin update --mode ", []string{"direct", "recursive"}},
		{"flotilla --log-level w", []string{"warn"}},
		{"flotilla completion ", []string{"bash", "zsh"}},
		{"flotilla state export --", []string{"--file", "--log-level", "--path"}},
		{"flotilla pin add --name ls --r", []string{"--replication", "--replication-max", "--replication-min"}},
	}
	for shell, newCompleter := range map[string]func(*testing.T) completer{"bash": bashCompleter, "zsh": zshCompleter} {
		t.Run(shell, func(t *testing.T) {
			complete := newCompleter(t)
			var lines []string
			var wants [][]string
			for _, tc := range cases {
				lines, wants = append(lines, tc.line), append(wants, tc.want)
			}
			// Every command, subcommand and flag of the table.
			g := &globals{}
			newGlobalFlagSet(g)
			for _, n := range completionNodes(g) {
				if n.Subs != nil {
					lines, wants = append(lines, n.Path+" "), append(wants, n.Subs)
				}
				lines, wants = append(lines, n.Path+" --"), append(wants, sorted(n.Flags))
			}
			// Files where a command takes them (zsh's _files is a stand-in).
			fileLine, wantFiles := "flotilla add "+dir+"/hel", []string{dir + "/hello.txt"}
			if shell == "zsh" {
				fileLine, wantFiles = "flotilla add ", []string{"FILES"}
			}
			lines, wants = append(lines, fileLine), append(wants, wantFiles)
			for i, got := range complete(t, lines...) {
				if !slices.Equal(sorted(got), wants[i]) {
					t.Errorf("%q completes to %v, want %v", lines[i], got, wants[i])
				}
			}
		})
	}
	if top := slices.Sorted(maps.Keys(commandTable())); !slices.Contains(top, "completion") || len(top) < 13 {
		t.Errorf("the command table lists %v", top)
	}
	if r := runCLI(t, nil, nil, "completion", "fish"); r.code != 2 || !strings.Contains(r.stderr, "want one of bash, zsh") {
		t.Errorf("completion fish: %s", r)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
