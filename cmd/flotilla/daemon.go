package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/api/pinsvc"
	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/logging"
	"github.com/flotilla-ipfs/flotilla/internal/telemetry"
	"github.com/flotilla-ipfs/flotilla/proxy"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func runDaemon(ctx context.Context, g *globals, args []string) error {
	fs := newFlagSet(g, "daemon", "[--bootstrap HOST:PORT[,HOST:PORT...]] [--init]")
	bootstrap := fs.String("bootstrap", "", "cluster addresses of existing peers to join through, comma-separated (first start, or to join again after leaving)")
	initHome := fs.Bool("init", false, "initialize the home folder first when it has no configuration (for containers)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(home, configFile)
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if !*initHome {
			return fmt.Errorf("%s does not exist: run `flotilla init` first", cfgPath)
		}
		if err := runInit(ctx, g, nil); err != nil {
			return err
		}
	}
	cfg, err := config.Load(cfgPath, g.env.Environ)
	if err != nil {
		return err
	}
	ident, _, err := config.LoadIdentity(filepath.Join(home, identityFile))
	if err != nil {
		return err
	}
	log, err := logging.New(g.env.Stderr, g.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log = log.With().Str("peer", shortID(ident.ID)).Logger()

	d := &daemon{cfg: cfg, cfgPath: cfgPath, home: home, ident: ident, log: log}
	if err := d.start(ctx, splitList(*bootstrap)); err != nil {
		d.stop()
		return err
	}
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down")
		d.stop()
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
	home    string
	ident   config.Identity
	log     zerolog.Logger

	ipfs    *ipfs.Client
	ipfsUp  atomic.Bool
	node    *cluster.Node
	servers []*http.Server
	proxy   *proxy.Proxy
	cancel  context.CancelFunc
}

func (d *daemon) component(name string) zerolog.Logger {
	return d.log.With().Str("component", name).Logger()
}

func (d *daemon) badKey(key string, err error) error {
	return &config.Error{Source: d.cfgPath, Key: key, Err: err}
}

func (d *daemon) start(ctx context.Context, bootstrap []string) error {
	cfg := d.cfg
	var err error
	d.ipfs, err = ipfs.New(cfg.IPFS.API, d.component("ipfs"))
	if err != nil {
		return d.badKey("ipfs.api", err)
	}
	secret, _ := hex.DecodeString(cfg.Cluster.Secret)

	lns, err := d.listen(map[string]string{
		"cluster.listen": cfg.Cluster.Listen,
		"api.listen":     cfg.API.Listen,
		"proxy.listen":   cfg.Proxy.Listen,
		"pinsvc.listen":  cfg.PinSvc.Listen,
	})
	if err != nil {
		return err
	}
	clusterLn, apiLn, proxyLn, pinsvcLn := lns["cluster.listen"], lns["api.listen"], lns["proxy.listen"], lns["pinsvc.listen"]
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}

	metrics := telemetry.New()
	watchCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	ipfsID := d.watchIPFS(watchCtx)

	d.node, err = cluster.New(cluster.Config{
		ID:        d.ident.ID,
		Name:      cfg.Cluster.Peername,
		DataDir:   filepath.Join(d.home, "data"),
		Secret:    secret,
		Listener:  clusterLn,
		Advertise: advertiseAddr(cfg.Cluster.Listen, clusterLn.Addr()),
		TLS: cluster.TLSFiles{
			CertFile: d.inHome(cfg.Cluster.TLSCertFile),
			KeyFile:  d.inHome(cfg.Cluster.TLSKeyFile),
			CAFile:   d.inHome(cfg.Cluster.TLSCAFile),
		},
		Bootstrap:            bootstrap,
		Voters:               cfg.Raft.Voters,
		HeartbeatTimeout:     cfg.Raft.HeartbeatTimeout.D(),
		ElectionTimeout:      cfg.Raft.ElectionTimeout.D(),
		SnapshotThreshold:    cfg.Raft.SnapshotThreshold,
		SnapshotInterval:     cfg.Raft.SnapshotInterval.D(),
		BatchMaxPins:         cfg.Raft.BatchMaxPins,
		BatchMaxDelay:        cfg.Raft.BatchMaxDelay.D(),
		ReplicationFactorMin: cfg.Cluster.ReplicationFactorMin,
		ReplicationFactorMax: cfg.Cluster.ReplicationFactorMax,
		AllocateBy:           cfg.Cluster.AllocateBy,
		HeartbeatInterval:    cfg.Health.HeartbeatInterval.D(),
		HeartbeatTTL:         cfg.Health.HeartbeatTTL.D(),
		RepinDelay:           cfg.Cluster.RepinDelay.D(),
		LeaveOnShutdown:      cfg.Cluster.LeaveOnShutdown,
		Self: storage.Peer{
			AdminAddr: apiLn.Addr().String(),
			ProxyAddr: proxyLn.Addr().String(),
			IPFSID:    ipfsID,
			Tags:      cfg.Cluster.Tags,
		},
		IPFS: d.ipfs,
		Tracker: tracker.Config{
			ConcurrentPins:    cfg.IPFS.ConcurrentPins,
			PinTimeout:        cfg.IPFS.PinTimeout.D(),
			UnpinTimeout:      cfg.IPFS.UnpinTimeout.D(),
			ReconcileInterval: cfg.IPFS.ReconcileInterval.D(),
		},
		Observer: metrics,
		Log:      d.log,
	})
	if err != nil {
		closeAll()
		return err
	}

	metrics.WatchNode(d.node.Stats)
	auth := rest.AuthConfig{Users: cfg.API.BasicAuthCredentials, TokenTTL: cfg.API.TokenTTL.D()}
	if len(auth.Users) > 0 {
		// Tokens come from POST /token, which needs a user: with no users
		// configured the API is open (and on loopback by default).
		auth.TokenKey = rest.DeriveTokenKey(secret)
	}
	admin := rest.NewWithConfig(d.node, rest.Config{
		Ready:       d.ready,
		Log:         d.component("api"),
		Auth:        auth,
		CORS:        rest.CORSConfig{AllowedOrigins: cfg.API.CORSAllowedOrigins},
		Resolver:    d.ipfs,
		UpstreamURL: d.ipfs.BaseURL(),
		Transport:   d.ipfs.Transport(),
		Metrics:     metrics.Handler(),
		Observe:     metrics.HTTPObserver("api"),
	})
	d.serve(apiLn, withBodyDeadline(admin, func(r *http.Request) bool { return r.URL.Path == "/add" }), "admin API")
	pinsvcAPI := pinsvc.New(d.node, pinsvc.Config{Tokens: cfg.PinSvc.Tokens, Log: d.component("pinsvc")})
	d.serve(pinsvcLn, withBodyDeadline(metrics.Middleware("pinsvc", pinsvcRoute, pinsvcAPI), nil), "pinning service API")

	handlers := intercept.New(d.node, d.ipfs, intercept.Options{
		Upstream:   d.ipfs.BaseURL(),
		Transport:  d.ipfs.Transport(),
		WaitPinned: cfg.Proxy.PinWait == "pinned",
		Log:        d.component("intercept"),
	})
	d.proxy, err = proxy.New(proxy.Config{
		Upstream:       d.ipfs.BaseURL(),
		AllowedOrigins: cfg.Proxy.AllowedOrigins,
		Authorizations: proxyAuthorizations(cfg.Proxy.Authorizations),
		Observe:        metrics.HTTPObserver("proxy"),
		ListenAddr:     proxyLn.Addr().String(),
		Log:            d.component("proxy"),
	}, handlers)
	if err != nil {
		closeAll()
		return err
	}
	go func() {
		if err := d.proxy.Serve(proxyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Msg("proxy stopped")
		}
	}()
	d.log.Info().
		Str("proxy", proxyLn.Addr().String()).
		Str("api", apiLn.Addr().String()).
		Str("pinsvc", pinsvcLn.Addr().String()).
		Str("cluster", d.node.Advertise()).
		Str("ipfs", cfg.IPFS.API).
		Msg("flotilla peer started")
	return nil
}

// ready is the admin API's /health: a known leader and an answering IPFS.
func (d *daemon) ready() error {
	if !d.ipfsUp.Load() {
		return fmt.Errorf("the IPFS node at %s is not answering", d.cfg.IPFS.API)
	}
	return d.node.Ready()
}

// watchIPFS tells whether the upstream answers, logging each change, so the
// daemon can start before IPFS does and become ready when it answers. It
// returns the IPFS node's ID when it answers at once.
func (d *daemon) watchIPFS(ctx context.Context) string {
	probe := func() (string, error) {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		id, err := d.ipfs.ID(pctx)
		return id.ID, err
	}
	id, err := probe()
	d.ipfsUp.Store(err == nil)
	if err != nil {
		d.log.Warn().Err(err).Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node not answering yet; will keep trying")
	}
	go func() {
		for {
			wait := 10 * time.Second
			if !d.ipfsUp.Load() {
				wait = time.Second
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			_, err := probe()
			if up := err == nil; up != d.ipfsUp.Swap(up) {
				if up {
					d.log.Info().Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node answers")
				} else {
					d.log.Warn().Err(err).Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node stopped answering")
				}
			}
		}
	}()
	return id
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
	if d.cancel != nil {
		d.cancel()
	}
}
