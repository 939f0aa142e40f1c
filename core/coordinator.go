package core

import (
	"context"

	"github.com/gofka/gofka/wire"
)

// findCoordinator asks any broker (FindCoordinator) which node coordinates
// key: a group (wire.FindCoordinatorKeyTypeGroup, classic, consumer or
// share) or a transactional.id (wire.FindCoordinatorKeyTypeTransaction).
// what names the key in errors ("group g", "transactional.id t"). A
// response without the key is COORDINATOR_NOT_AVAILABLE; an error code of
// the response is returned as is (retriable or not: the caller's retry
// rule decides). No caching: each caller keeps the node it found.
func (c *Client) findCoordinator(ctx context.Context, key string, keyType int8, what string) (int32, error) {
	resp, addr, err := c.requestAddr(ctx, -1, &wire.FindCoordinatorRequest{Key: key, KeyType: keyType})
	if err != nil {
		return -1, err
	}
	res, found := resp.(*wire.FindCoordinatorResponse).Coordinator(key)
	if !found {
		return -1, &wire.Error{Code: wire.ErrCoordinatorNotAvailable, Detail: "no coordinator returned for " + what, Broker: addr}
	}
	if err := kerr(res.ErrorCode, res.ErrorMessage, "finding the coordinator of "+what, addr); err != nil {
		return -1, err
	}
	return res.NodeId, nil
}
