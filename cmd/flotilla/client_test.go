package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/internal/harness"
	"github.com/flotilla-ipfs/flotilla/internal/version"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// cli runs commands in-process, against an admin API in front of the
// first peer of a real three-peer cluster.
type cli struct {
	t       *testing.T
	c       *harness.Cluster
	api     string
	environ []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	c := harness.New(t, 3, harness.Options{})
	return &cli{t: t, c: c, api: serveAPI(t, c, rest.AuthConfig{})}
}

// serveAPI serves the admin API of the cluster's first peer, adding
// through that peer's fake Kubo.
func serveAPI(t *testing.T, c *harness.Cluster, auth rest.AuthConfig) string {
	t.Helper()
	up, err := url.Parse(c.Peers[0].Kubo.URL())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rest.NewWithConfig(c.Peers[0].Node, rest.Config{Log: zerolog.Nop(), UpstreamURL: up, Auth: auth}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs one command line with FLOTILLA_API pointing at the test API.
func (cl *cli) run(args ...string) result {
	cl.t.Helper()
	return runCLI(cl.t, append([]string{"FLOTILLA_API=" + cl.api}, cl.environ...), nil, args...)
}

func runCLI(t *testing.T, environ []string, stdin *bytes.Buffer, args ...string) result {
	t.Helper()
	env := Env{Environ: environ}
	if stdin != nil {
		env.Stdin = stdin
	}
	return runEnv(t, env, args...)
}

// runEnv runs one command line in env, with its output captured.
func runEnv(t *testing.T, env Env, args ...string) result {
	t.Helper()
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	var out bytes.Buffer
	env.Stdout, env.Stderr = &out, errFile
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := Run(ctx, args, env)
	stderr, err := os.ReadFile(errFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: string(stderr)}
}

// ok runs a command that must succeed and returns its stdout.
func (cl *cli) ok(args ...string) string {
	cl.t.Helper()
	r := cl.run(args...)
	if r.code != 0 {
		cl.t.Fatalf("flotilla %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs a command that must exit with code and say want on stderr.
func (cl *cli) fails(code int, want string, args ...string) {
	cl.t.Helper()
	r := cl.run(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		cl.t.Fatalf("flotilla %s: want exit %d saying %q, got %s", strings.Join(args, " "), code, want, r)
	}
}

var (
	timestampRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	portRE      = regexp.MustCompile(`(127\.0\.0\.1:|/tcp/)(\d+)`)
	raftRE      = regexp.MustCompile(`\b(leader|follower)\b`)
	trailingRE  = regexp.MustCompile(`(?m) +$`)
)

// normalize makes output stable across runs: random peer IDs, times and
// ports become placeholders of the same width, so that tables keep their
// alignment, and which voter leads does not matter.
func (cl *cli) normalize(s string) string {
	// <name...> filled with dots to the width of what it replaces.
	same := func(old, name string) {
		s = strings.ReplaceAll(s, old, "<"+name+strings.Repeat(".", max(len(old)-len(name)-2, 0))+">")
	}
	for i, p := range cl.c.Peers {
		same(p.ID, fmt.Sprintf("peer%d-id", i))
		same(p.Kubo.ID(), fmt.Sprintf("ipfs%d-id", i))
	}
	s = strings.ReplaceAll(s, version.Version, fmt.Sprintf("%-*s", len(version.Version), "VERSION"))
	s = timestampRE.ReplaceAllString(s, "YYYY-MM-DDTHH:MM:SSZ")
	s = portRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := portRE.FindStringSubmatch(m)
		return sub[1] + strings.Repeat("N", len(sub[2]))
	})
	s = raftRE.ReplaceAllStringFunc(s, func(m string) string { return fmt.Sprintf("%-*s", len(m), "voter") })
	return trailingRE.ReplaceAllString(s, "")
}

// sortRows sorts the rows of a table under its header, for tables in the
// order of random peer IDs.
func sortRows(s string) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 1 {
		slices.Sort(lines[1:])
	}
	return strings.Join(lines, "")
}

// golden compares normalized output with testdata/<name>.golden.
func (cl *cli) golden(name, got string) {
	cl.t.Helper()
	got = cl.normalize(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			cl.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			cl.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		cl.t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		cl.t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// goldenEventually is golden for output that settles: it compares the
// last of read's outputs once one matched, or once 30 s went by.
func (cl *cli) goldenEventually(name string, read func() string) {
	cl.t.Helper()
	want, _ := os.ReadFile(filepath.Join("testdata", name+".golden"))
	got := read()
	for deadline := time.Now().Add(30 * time.Second); !*update && cl.normalize(got) != string(want) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		got = read()
	}
	cl.golden(name, got)
}

// waitStatus waits until every peer's tracker reports c in one of the
// statuses, as the harness sees it.
func (cl *cli) waitStatus(c cid.Cid, want map[int]string) {
	cl.t.Helper()
	cl.c.WaitFor(fmt.Sprintf("%s to reach %v", c, want), func() bool {
		for i, st := range want {
			if cl.c.Peers[i].Node.LocalStatus(c).Status != st {
				return false
			}
		}
		return true
	})
}

// testCID is a stable CID, so that golden files can name it.
func testCID(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprintf("flotilla cli test %d", i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.DagProtobuf, mh)
}
