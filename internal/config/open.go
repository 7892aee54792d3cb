package config

// OpenListener is an HTTP listener bound beyond loopback that asks no
// credentials: anyone who reaches its address may use it.
type OpenListener struct {
	Key, Listen string
	// Credentials is the key that would close it.
	Credentials string
}

// OpenListeners lists the HTTP listeners bound beyond loopback without
// credentials. They are allowed (a container publishes its ports to the
// host's loopback, as docker-compose.yml does), but an operator must know:
// the daemon warns of each at start.
func (c Config) OpenListeners() []OpenListener {
	var open []OpenListener
	for _, l := range []struct {
		key, listen, credentials string
		closed                   bool
	}{
		{"proxy.listen", c.Proxy.Listen, "proxy.authorizations", len(c.Proxy.Authorizations) > 0},
		{"api.listen", c.API.Listen, "api.basic_auth_credentials", len(c.API.BasicAuthCredentials) > 0},
		{"pinsvc.listen", c.PinSvc.Listen, "pinsvc.tokens", len(c.PinSvc.Tokens) > 0},
	} {
		if !l.closed && !isLoopbackListen(l.listen) {
			open = append(open, OpenListener{Key: l.key, Listen: l.listen, Credentials: l.credentials})
		}
	}
	return open
}
