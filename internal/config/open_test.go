package config

import (
	"slices"
	"testing"
)

func TestOpenListenersAreThoseBeyondLoopbackWithoutCredentials(t *testing.T) {
	c := Default()
	if open := c.OpenListeners(); len(open) != 0 {
		t.Fatalf("the defaults have open listeners: %v", open)
	}
	c.Proxy.Listen, c.API.Listen, c.PinSvc.Listen = "0.0.0.0:9095", "10.0.0.1:9094", ":9097"
	c.API.BasicAuthCredentials = map[string]string{"admin": "pw"}
	var keys []string
	for _, o := range c.OpenListeners() {
		keys = append(keys, o.Key+" "+o.Credentials)
	}
	if want := []string{"proxy.listen proxy.authorizations", "pinsvc.listen pinsvc.tokens"}; !slices.Equal(keys, want) {
		t.Fatalf("open listeners %v, want %v", keys, want)
	}
}
