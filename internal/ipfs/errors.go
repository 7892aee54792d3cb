package ipfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"syscall"

	"github.com/ipfs/kubo/client/rpc"
)

var (
	// ErrUnavailable matches (errors.Is) every error caused by the IPFS node
	// not answering: refused or failed dials, and connections dropped mid-call.
	ErrUnavailable = errors.New("the IPFS node is not answering")

	// ErrPinStalled matches a Pin abandoned because its fetch made no
	// progress for the inactivity timeout.
	ErrPinStalled = errors.New("pin made no progress")
)

// APIError is an error the IPFS node answered with. Error() is the node's
// message unchanged, so that it can be shown to users and matched the way
// Kubo clients match it.
type APIError struct {
	Command string // e.g. "pin/add"
	Message string
	Code    int // cmds.ErrorType: 0 normal, 1 client error, ...
}

func (e *APIError) Error() string { return e.Message }

// unavailableError names the node in the message and keeps the network
// error reachable through errors.Is/As.
type unavailableError struct {
	addr string
	err  error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("the IPFS node at %s is not answering: %v", e.addr, e.err)
}

func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.err }

// errorString is the type of errors.New values: client/rpc reports an
// X-Stream-Error trailer as errors.New(<trailer>), and nothing else in a
// response body read has that type except the io sentinels.
var errorString = reflect.TypeOf(errors.New(""))

// wrap classifies an error from a call to cmd.
func (c *Client) wrap(cmd string, err error) error {
	if err == nil {
		return nil
	}
	var ke *rpc.Error
	if errors.As(err, &ke) {
		return &APIError{Command: cmd, Message: ke.Message, Code: int(ke.Code)}
	}
	var kv rpc.Error
	if errors.As(err, &kv) {
		return &APIError{Command: cmd, Message: kv.Message, Code: int(kv.Code)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isConnError(err) {
		return &unavailableError{addr: c.addr, err: err}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return fmt.Errorf("%s: malformed answer from the IPFS node at %s: %w", cmd, c.addr, err)
	}
	if reflect.TypeOf(err) == errorString {
		return &APIError{Command: cmd, Message: err.Error()}
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// isConnError reports errors that mean the node is down or went away: a
// failed dial, a refused or reset connection, or a response cut short.
func isConnError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF)
}
