package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/api/pinsvc"
	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/logging"
	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/internal/telemetry"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/proxy"
	"github.com/flotilla-ipfs/flotilla/types"
)

type daemonCommand struct {
	base
	bootstrap string
	follow    string
	initHome  bool
}

func newDaemonCommand(g *globals, name, args string) command {
	c := &daemonCommand{base: newBase(g, name, args)}
	c.fs.StringVar(&c.bootstrap, "bootstrap", "", "cluster addresses of existing peers to join through, comma-separated (first start, or to join again after leaving)")
	c.fs.StringVar(&c.follow, "follow", "", "cluster addresses of peers of a cluster to follow read-only, with cluster.follower_secret (first start; the home remembers them)")
	c.fs.BoolVar(&c.initHome, "init", false, "initialize the home folder first when it has no configuration (for containers)")
	return c
}

func (c *daemonCommand) Run(ctx context.Context, args []string) error {
	g := c.g
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
		return err
	}
	if c.bootstrap != "" && c.follow != "" {
		return usageError(g, "--follow and --bootstrap exclude each other: a follower follows, a member joins")
	}
	bootstrap, err := clusterAddrs(c.bootstrap)
	if err != nil {
		return usageError(g, "--bootstrap: %v", err)
	}
	follow, err := clusterAddrs(c.follow)
	if err != nil {
		return usageError(g, "--follow: %v", err)
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(home, configFile)
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if !c.initHome {
			return fmt.Errorf("%s does not exist: run `flotilla init` first", cfgPath)
		}
		if err := newInitCommand(g, "init", "").Run(ctx, nil); err != nil {
			return err
		}
	}
	cfg, err := config.Load(cfgPath, g.env.Environ)
	if err != nil {
		return err
	}
	ident, key, err := config.LoadIdentity(filepath.Join(home, identityFile))
	if err != nil {
		return err
	}
	log, err := logging.New(g.env.Stderr, g.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log = log.With().Str("self", shortID(ident.ID)).Logger()

	d := &daemon{cfg: cfg, cfgPath: cfgPath, environ: g.env.Environ, home: home, ident: ident, key: key, log: log, metrics: telemetry.New(), ipfsBack: make(chan struct{}, 1)}
	if err := d.start(ctx, bootstrap, follow); err != nil {
		d.stop()
		if ctx.Err() != nil {
			// A signal cut the start short (a join that would have gone
			// on for a minute): the operator asked for the stop, so it
			// is no failure of the start.
			log.Info().Str("reason", context.Cause(ctx).Error()).Msg("shutting down before the peer started")
			return nil
		}
		return err
	}
	select {
	case <-ctx.Done():
		began := time.Now()
		log.Info().Str("reason", context.Cause(ctx).Error()).Msg("shutting down")
		d.stop()
		log.Info().Str("took", time.Since(began).Round(time.Millisecond).String()).Msg("stopped")
		return nil
	case <-d.removedFromCluster(ctx):
		d.stop()
		return types.ErrRemoved
	}
}

// removedFromCluster closes when the cluster has removed this peer: like
// ipfs-cluster, a removed peer stops rather than linger as a non-member.
func (d *daemon) removedFromCluster(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if errors.Is(d.node.Ready(), types.ErrRemoved) {
					close(done)
					return
				}
			}
		}
	}()
	return done
}

type daemon struct {
	cfg     config.Config
	cfgPath string
	// environ is the process environment, whose variables may have set
	// the keys an error names.
	environ []string
	home    string
	ident   config.Identity
	key     crypto.PrivKey // ident's
	log     zerolog.Logger

	ipfs   *ipfs.Client
	ipfsUp atomic.Bool
	ipfsID string // the IPFS node's ID, when it answered at start
	// ipfsBack signals that the IPFS node answers again after an outage.
	ipfsBack chan struct{}
	// watchCtx ends the daemon's own background loops at stop.
	watchCtx context.Context
	metrics  *telemetry.Metrics
	lns      map[string]net.Listener
	// releaseData lets the data folder's lock go (folderlock), which the
	// daemon holds from its start to its stop.
	releaseData func() error
	node        *cluster.Node
	// follower is set when the node is a read-only follower.
	follower bool
	servers  []*http.Server
	proxy    *proxy.Proxy
	cancel   context.CancelFunc
}

func (d *daemon) component(name string) zerolog.Logger {
	return d.log.With().Str("component", name).Logger()
}

// badKey blames key for err, with where its value came from: the file or
// the variable that overrode it.
func (d *daemon) badKey(key string, err error) error {
	return &config.Error{Source: config.Source(d.cfgPath, d.environ, key), Key: key, Err: err}
}

// start brings the peer up in named steps. A failed step returns its
// error; the caller's stop then releases whatever the steps before it had
// opened, which is the one cleanup path. ctx ending (a signal) ends the
// cluster join at once.
func (d *daemon) start(ctx context.Context, bootstrap, follow []string) error {
	steps := []func() error{
		d.lockData,
		d.openIPFS,
		d.bindListeners,
		func() error { return d.startNode(ctx, bootstrap, follow) },
		d.serveAPIs,
		d.startProxy,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	d.log.Info().
		Str("proxy", d.lns[keyProxy].Addr().String()).
		Str("api", d.lns[keyAPI].Addr().String()).
		Str("pinsvc", d.lns[keyPinSvc].Addr().String()).
		Str("cluster", d.node.Advertise()).
		Bool("follower", d.follower).
		Str("ipfs", d.cfg.IPFS.API).
		Str("version", version.Version).Str("commit", version.Commit).
		Msg("flotilla peer started")
	for _, o := range d.cfg.OpenListeners() {
		d.log.Warn().Str("key", o.Key).Str("listen", o.Listen).Str("credentials", o.Credentials).
			Msg("this listener is bound beyond loopback and asks no credentials: whoever reaches it may use it; set the credentials key, or bind it to loopback")
	}
	return nil
}

// The listen keys of service.json, which also name the daemon's listeners.
const (
	keyCluster = "cluster.listen"
	keyAPI     = "api.listen"
	keyProxy   = "proxy.listen"
	keyPinSvc  = "pinsvc.listen"
)

func (d *daemon) bindListeners() error {
	var err error
	d.lns, err = d.listen(map[string]string{
		keyCluster: d.cfg.Cluster.Listen,
		keyAPI:     d.cfg.API.Listen,
		keyProxy:   d.cfg.Proxy.Listen,
		keyPinSvc:  d.cfg.PinSvc.Listen,
	})
	return err
}

// startNode starts the cluster peer on the cluster listener; ctx bounds
// its join.
func (d *daemon) startNode(ctx context.Context, bootstrap, follow []string) error {
	cfg := cluster.FromFile(d.cfg, d.home)
	clusterLn := d.lns[keyCluster]
	cfg.ID, cfg.Key, cfg.Advertise = d.ident.ID, d.key, advertiseAddr(d.cfg.Cluster.Listen, clusterLn.Addr())
	cfg.Port.Listener = clusterLn
	if err := d.membership(&cfg, bootstrap, follow); err != nil {
		return err
	}
	cfg.Self.AdminAddr, cfg.Self.ProxyAddr = d.lns[keyAPI].Addr().String(), d.lns[keyProxy].Addr().String()
	cfg.Self.IPFSID = d.ipfsID
	cfg.IPFS, cfg.Observer, cfg.Log = d.ipfs, d.metrics, d.log
	var err error
	d.node, err = cluster.New(ctx, cfg)
	if err != nil {
		return err
	}
	d.metrics.WatchNode(d.node.Stats)
	d.metrics.WatchIPFS(d.ipfsUp.Load)
	go d.retryWhenIPFSIsBack(d.node)
	return nil
}

// serveAPIs serves the admin API and the Pinning Service API.
func (d *daemon) serveAPIs() error {
	cfg := d.cfg
	auth := rest.AuthConfig{Users: cfg.API.BasicAuthCredentials, TokenTTL: cfg.API.TokenTTL.D()}
	if len(auth.Users) > 0 {
		// Tokens come from POST /token, which needs a user: with no users
		// configured the API is open (and on loopback by default).
		auth.TokenKey = rest.DeriveTokenKey(d.tokenSecret())
	}
	var profiles http.Handler
	if cfg.API.Pprof {
		profiles = telemetry.Profiles()
		d.log.Info().Str("api", d.lns[keyAPI].Addr().String()).Msg("serving Go profiles at /debug/pprof/ on the admin API (api.pprof)")
	}
	admin := rest.NewWithConfig(d.node, rest.Config{
		Ready:        d.ready,
		Log:          d.component("api"),
		Auth:         auth,
		CORS:         rest.CORSConfig{AllowedOrigins: cfg.API.CORSAllowedOrigins},
		AllowedHosts: cfg.API.AllowedHosts,
		ListenAddr:   d.lns[keyAPI].Addr().String(),
		Resolver:     d.ipfs,
		UpstreamURL:  d.ipfs.BaseURL(),
		Transport:    d.ipfs.Transport(),
		Metrics:      d.metrics.Handler(),
		Profiles:     profiles,
		Observe:      d.metrics.HTTPObserver("api"),
		ReadOnly:     d.follower,
		Refused:      d.metrics.RequestRefused("api"),
	})
	// An upload to /add may take hours: its body streams.
	d.serve(d.lns[keyAPI], slowclient.Handler(admin, d.limits(), func(r *http.Request) bool { return r.URL.Path == "/add" },
		d.counted("api", adminTooSlow)), "admin API",
		slowclient.Refusal("application/json", rest.ErrorJSON(http.StatusServiceUnavailable, "too many connections to this peer's admin API: try again later")),
		d.refusedConns("api"))
	pinsvcAPI := pinsvc.New(d.node, pinsvc.Config{
		Tokens:         cfg.PinSvc.Tokens,
		AllowedOrigins: cfg.PinSvc.AllowedOrigins,
		AllowedHosts:   cfg.PinSvc.AllowedHosts,
		ListenAddr:     d.lns[keyPinSvc].Addr().String(),
		Ready:          d.ready,
		Log:            d.component("pinsvc"),
		Refused:        d.metrics.RequestRefused("pinsvc"),
	})
	d.serve(d.lns[keyPinSvc], slowclient.Handler(d.metrics.Middleware("pinsvc", pinsvcRoute, pinsvcAPI), d.limits(), nil, d.counted("pinsvc", pinsvcTooSlow)), "pinning service API",
		slowclient.Refusal("application/json", pinsvc.ErrorJSON("SERVICE_UNAVAILABLE", "too many connections to this peer's Pinning Service API: try again later")),
		d.refusedConns("pinsvc"))
	return nil
}

// secret is the cluster secret's bytes; the configuration was validated.
func (d *daemon) secret() []byte {
	b, _ := hex.DecodeString(d.cfg.Cluster.Secret)
	return b
}

// tokenSecret signs the admin API's tokens: api.token_secret when set, so
// that changing it revokes every token without touching the cluster, else
// the cluster secret.
func (d *daemon) tokenSecret() []byte {
	if d.cfg.API.TokenSecret != "" {
		return []byte(d.cfg.API.TokenSecret)
	}
	return d.secret()
}

func (d *daemon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d.proxy != nil {
		_ = d.proxy.Shutdown(ctx)
	}
	for _, s := range d.servers {
		_ = s.Shutdown(ctx)
	}
	if d.node != nil {
		if err := d.node.Close(); err != nil {
			d.log.Warn().Err(err).Msg("close cluster node")
		}
	}
	// Listeners that no server took over are closed here; closing one
	// twice is harmless.
	for _, ln := range d.lns {
		ln.Close()
	}
	if d.cancel != nil {
		d.cancel()
	}
	if d.releaseData != nil {
		_ = d.releaseData()
	}
}

// lockData takes the data folder's lock: a state import or export, or
// another daemon, on the same folder must not run beside this one.
func (d *daemon) lockData() error {
	dir := filepath.Join(d.home, "data")
	release, err := folderlock.Lock(dir)
	if errors.Is(err, folderlock.ErrHeld) {
		return fmt.Errorf("%w: stop the other daemon, or let its state import or export end, first", err)
	}
	if err != nil {
		return err
	}
	d.releaseData = release
	return nil
}
