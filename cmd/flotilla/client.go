package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

const defaultAPI = "http://127.0.0.1:9094"

// clientCommand is the start that every command talking to the admin API
// shares: a flag set with the client flags bound, the parse, then the
// connection. A command binds its own flags to fs before it parses, and calls
// close once connected.
type clientCommand struct {
	base
	api       string
	basicAuth string
	token     string
	json      bool
	timeout   time.Duration
	cancel    context.CancelFunc // ends --timeout; nil until connected
}

// newClientCommand makes the flag set of the command name, whose usage shows
// args, with the client flags bound. Credentials have no flag default, so
// that usage never prints one taken from the environment.
func newClientCommand(g *globals, name, args string) *clientCommand {
	cmd := &clientCommand{base: newBase(g, name, args)}
	cmd.fs.StringVar(&cmd.api, "api", "", "admin API URL, host:port or multiaddr (env FLOTILLA_API, default "+defaultAPI+")")
	cmd.fs.StringVar(&cmd.basicAuth, "basic-auth", "", "user:password for HTTP basic auth (env FLOTILLA_BASIC_AUTH)")
	cmd.fs.StringVar(&cmd.token, "token", "", "bearer token from POST /token (env FLOTILLA_TOKEN)")
	cmd.fs.BoolVar(&cmd.json, "json", false, "print the API's JSON, one object per line")
	cmd.fs.DurationVar(&cmd.timeout, "timeout", 0, "give up after this long (0: no limit, but a peer that answers nothing is given up after a minute)")
	return cmd
}

// parse parses args, flags anywhere, and wants between minArgs and maxArgs
// positional arguments (maxArgs < 0: any).
func (cmd *clientCommand) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	return parseArgs(cmd.fs, args, minArgs, maxArgs)
}

// start is parse then connect, for a command that has nothing to check in
// between.
func (cmd *clientCommand) start(ctx context.Context, args []string, minArgs, maxArgs int) ([]string, *apiClient, context.Context, error) {
	pos, err := cmd.parse(args, minArgs, maxArgs)
	if err != nil {
		return nil, nil, nil, err
	}
	c, ctx, err := cmd.connect(ctx)
	return pos, c, ctx, err
}

// connect applies the global --api, the environment and the timeout. When
// it succeeds, close must be called.
func (cmd *clientCommand) connect(ctx context.Context) (*apiClient, context.Context, error) {
	if cmd.api == "" {
		cmd.api = cmd.g.api
	}
	for _, f := range []struct {
		dst *string
		env string
	}{{&cmd.api, "FLOTILLA_API"}, {&cmd.basicAuth, "FLOTILLA_BASIC_AUTH"}, {&cmd.token, "FLOTILLA_TOKEN"}} {
		if *f.dst == "" {
			*f.dst = cmd.g.env.getenv(f.env)
		}
	}
	if cmd.api == "" {
		cmd.api = defaultAPI
	}
	base, err := parseAPIAddr(cmd.api)
	if err != nil {
		return nil, nil, usageError(cmd.g, "--api: %v", err)
	}
	c := &apiClient{base: base, token: cmd.token, http: &http.Client{}}
	if cmd.timeout <= 0 {
		c.answerWait = cmp.Or(cmd.g.env.AnswerWait, defaultAnswerWait)
	}
	if cmd.basicAuth != "" {
		user, pass, ok := strings.Cut(cmd.basicAuth, ":")
		if !ok {
			return nil, nil, usageError(cmd.g, "--basic-auth wants user:password")
		}
		c.user, c.pass = user, pass
	} else if base.User != nil {
		// http://user:password@host, as curl and ipfs-cluster-ctl take it.
		c.user = base.User.Username()
		c.pass, _ = base.User.Password()
	}
	cmd.cancel = func() {}
	if cmd.timeout > 0 {
		ctx, cmd.cancel = context.WithTimeout(ctx, cmd.timeout)
	}
	return c, ctx, nil
}

// close stops the --timeout clock that connect started.
func (cmd *clientCommand) close() {
	if cmd.cancel != nil {
		cmd.cancel()
	}
}

// parseAPIAddr accepts a URL, host:port, or the multiaddr ipfs-cluster-ctl
// users know (/ip4/127.0.0.1/tcp/9094, optionally ending in /https).
func parseAPIAddr(s string) (*url.URL, error) {
	if strings.HasPrefix(s, "/") {
		parts := strings.Split(strings.Trim(s, "/"), "/")
		if len(parts) < 4 || parts[2] != "tcp" {
			return nil, fmt.Errorf("%q: want /ip4|ip6|dns/<host>/tcp/<port>", s)
		}
		switch parts[0] {
		case "ip4", "ip6", "dns", "dns4", "dns6":
		default:
			return nil, fmt.Errorf("%q: unsupported protocol %q", s, parts[0])
		}
		scheme := "http"
		if len(parts) > 4 && parts[4] == "https" {
			scheme = "https"
		}
		return &url.URL{Scheme: scheme, Host: net.JoinHostPort(parts[1], parts[3])}, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, a password in it included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// apiClient is a small client for the admin REST API.
type apiClient struct {
	// base is the API's URL as given, with any user:password in it:
	// messages print base.Redacted(), never base itself.
	base       *url.URL
	http       *http.Client
	user, pass string
	token      string
	// answerWait bounds the wait for a peer that answers nothing (see
	// send); zero when --timeout bounds the command instead.
	answerWait time.Duration
}

// apiError is an answer other than 2xx, with the API's message.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the API answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// unreachableError is an API that could not be dialled. Go's own message
// (Get "…/id": dial tcp …: connect: connection refused) hides the cause
// in a chain and says nothing of the usual one, a daemon not running.
type unreachableError struct {
	api    *url.URL
	reason string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the flotilla API at %s: %s (is the daemon running? set --api or FLOTILLA_API to reach another address)", e.api.Redacted(), e.reason)
}

func (e *unreachableError) Unwrap() error { return e.err }

// unreachable makes err an *unreachableError when it is a failed dial, and
// leaves any other error (a broken answer, a TLS mismatch) as it is.
func unreachable(api *url.URL, err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return err
	}
	reason := op.Err.Error()
	var errno syscall.Errno
	var dns *net.DNSError
	switch {
	case errors.As(op.Err, &errno):
		reason = errno.Error()
	case errors.As(op.Err, &dns):
		reason = fmt.Sprintf("%s: %s", dns.Name, dns.Err)
	}
	return &unreachableError{api: api, reason: reason, err: err}
}

// request is one call. path is already escaped.
type request struct {
	method      string
	path        string
	query       url.Values
	body        io.Reader
	contentType string
}

// newRequest makes r's HTTP request, with the credentials.
func (c *apiClient) newRequest(ctx context.Context, r request) (*http.Request, error) {
	u, err := url.Parse(c.base.String() + r.path)
	if err != nil {
		return nil, err
	}
	u.RawQuery = r.query.Encode()
	// The credentials are the ones connect chose: Go's client would send
	// the URL's user:password when nothing else is set, and print it.
	u.User = nil
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), r.body)
	if err != nil {
		return nil, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pass)
	}
	return req, nil
}

func (c *apiClient) do(ctx context.Context, r request) (*http.Response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		if ctx.Err() == nil {
			err = unreachable(c.base, err)
		}
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &apiError{Status: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil && msg.Message != "" {
		e.Message = msg.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return nil, e
}

// call decodes a single JSON answer into out, and returns its raw bytes
// for --json. A 204 leaves out untouched and returns nil.
func (c *apiClient) call(ctx context.Context, r request, out any) (json.RawMessage, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, fmt.Errorf("the API answered something unexpected: %w", err)
		}
	}
	return body, nil
}

// stream calls fn on each object of an ndjson answer. A stream that ends
// with an X-Stream-Error trailer failed half way, and so does this call.
func (c *apiClient) stream(ctx context.Context, r request, fn func(json.RawMessage) error) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading the answer: %w", err)
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
	if msg := resp.Trailer.Get("X-Stream-Error"); msg != "" {
		return fmt.Errorf("the API stopped with an error: %s", msg)
	}
	return nil
}

// usageError reports a mistake in the command line, which exits with 2:
// Run prints nothing for errUsage, so the message goes out here.
func usageError(g *globals, format string, args ...any) error {
	fmt.Fprintf(g.env.Stderr, "flotilla: "+format+"\n", args...)
	return errUsage
}

// printJSON writes one API object on one line, as --json promises, with
// no rune a terminal would obey (see jsonPrintable).
func printJSON(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(jsonPrintable(b.Bytes()))
	return err
}

// decodeEach adapts a typed callback to stream.
func decodeEach[T any](fn func(T, json.RawMessage) error) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("the API answered something unexpected: %w", err)
		}
		return fn(v, raw)
	}
}
