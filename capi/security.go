package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"context"
	"fmt"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// Security in the C ABI: the OAUTHBEARER token setter and the SCRAM admin
// operations (registered into gofka_admin_call). Behaviour is in
// core/sasl.go and core/admin_scram.go.

// oauthTarget finds what holds the token of a client handle of any kind.
func oauthTarget(h C.gofka_handle_t) (interface{ SetOAuthBearerToken(string) error }, error) {
	handles.Lock()
	e, ok := handles.m[uint64(h)]
	handles.Unlock()
	if ok {
		switch o := e.obj.(type) {
		case interface{ SetOAuthBearerToken(string) error }:
			return o, nil // a pool
		case interface{ Client() *core.Client }:
			return o.Client(), nil // producer, consumer, admin
		}
	}
	return nil, &wire.Error{Code: wire.ErrInvalidHandle, Detail: fmt.Sprintf("%d is not a live client or pool handle", uint64(h))}
}

//export gofka_oauth_token_set
func gofka_oauth_token_set(h C.gofka_handle_t, token *C.char, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if token == nil {
		return fill(errOut, invalid("token is NULL"))
	}
	t, err := oauthTarget(h)
	if err != nil {
		return fill(errOut, err)
	}
	return fill(errOut, t.SetOAuthBearerToken(C.GoString(token)))
}

func init() {
	adminOps["describe_user_scram_credentials"] = op(func(ctx context.Context, a *core.Admin, args *struct {
		Users []string `json:"users"`
	}) (any, error) {
		return a.DescribeUserScramCredentials(ctx, args.Users)
	})
	adminOps["alter_user_scram_credentials"] = op(func(ctx context.Context, a *core.Admin, args *struct {
		Upsertions []struct {
			User       string      `json:"user"`
			Mechanism  string      `json:"mechanism"`
			Password   core.Secret `json:"password"`
			Iterations int32       `json:"iterations"`
			Salt       []byte      `json:"salt"` // base64 in JSON; null = random
		} `json:"upsertions"`
		Deletions []struct {
			User      string `json:"user"`
			Mechanism string `json:"mechanism"`
		} `json:"deletions"`
	}) (any, error) {
		var ups []core.ScramUpsertion
		for _, u := range args.Upsertions {
			ups = append(ups, core.ScramUpsertion{User: u.User, Mechanism: u.Mechanism, Password: u.Password, Iterations: u.Iterations, Salt: u.Salt})
		}
		var dels []core.ScramDeletion
		for _, d := range args.Deletions {
			dels = append(dels, core.ScramDeletion{User: d.User, Mechanism: d.Mechanism})
		}
		return nil, a.AlterUserScramCredentials(ctx, ups, dels)
	})
}
