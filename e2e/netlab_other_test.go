//go:build !linux

package e2e

import (
	"context"
	"errors"
	"net"
)

// dialIn needs Linux network namespaces; newNetLab fails the test first.
func dialIn(string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("network namespaces need Linux")
	}
}
