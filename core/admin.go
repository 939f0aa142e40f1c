package core

import (
	"context"
	"sort"

	"github.com/gofka/gofka/wire"
)

// Admin inspects and manages the cluster. It is safe for concurrent use.
type Admin struct {
	cl         *Client
	ownsClient bool
}

// NewAdmin creates an admin client with its own Client. No network I/O.
func NewAdmin(opts ...Option) (*Admin, error) {
	return NewAdminFromConfig(NewConfig(opts...))
}

// NewAdminFromConfig is NewAdmin for a ready Config.
func NewAdminFromConfig(cfg Config) (*Admin, error) {
	cl, err := NewClientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Admin{cl: cl, ownsClient: true}, nil
}

// NewAdminOn creates an admin client sharing cl; Close leaves cl open.
func NewAdminOn(cl *Client) *Admin { return &Admin{cl: cl} }

// Client returns the admin's client.
func (a *Admin) Client() *Client { return a.cl }

// Close closes the client if the admin owns it.
func (a *Admin) Close() error {
	if a.ownsClient {
		return a.cl.Close()
	}
	return nil
}

// ListTopics returns the names of the cluster's topics, sorted. Internal
// topics (__consumer_offsets, __transaction_state, ...) are included only
// when includeInternal is true.
func (a *Admin) ListTopics(ctx context.Context, includeInternal bool) ([]string, error) {
	m, err := a.cl.RefreshMetadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Topics))
	for name, t := range m.Topics {
		if t.Err != wire.ErrNone || (t.Internal && !includeInternal) {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
