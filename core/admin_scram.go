package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"sort"

	"github.com/gofka/gofka/wire"
)

// SCRAM credentials of users (KIP-554): DescribeUserScramCredentials and
// AlterUserScramCredentials. The client salts and hashes the password
// (SaltedPassword = PBKDF2(password, salt, iterations), as SCRAM login
// does); neither the password nor the salted password ever comes back.

// ScramCredentialInfo is one SCRAM credential of a user: its mechanism and
// iteration count (never the secret).
type ScramCredentialInfo struct {
	Mechanism  string `json:"mechanism"` // SCRAM-SHA-256 or SCRAM-SHA-512
	Iterations int32  `json:"iterations"`
}

// ScramUpsertion creates or replaces the credential of one user for one
// mechanism.
type ScramUpsertion struct {
	User      string
	Mechanism string // SCRAM-SHA-256 or SCRAM-SHA-512
	Password  Secret
	// Iterations of PBKDF2; 0 = DefaultScramIterations. Kafka accepts
	// 4096..16384.
	Iterations int32
	// Salt; nil = 32 random bytes (the usual choice).
	Salt []byte
}

// ScramDeletion removes the credential of one user for one mechanism.
type ScramDeletion struct {
	User      string
	Mechanism string
}

// DefaultScramIterations is the iteration count of an upsertion that does
// not set one: 4096, the default of Kafka's kafka-configs tool and the
// minimum of RFC 7677. (The in-process dev cluster, kfake, always
// announces 4096 at login, so users made there with other counts cannot
// log in to it; real brokers announce the stored count.)
const DefaultScramIterations = 4096

func scramMechanismCode(name string) (int8, func() hash.Hash, error) {
	switch name {
	case MechanismScramSHA256:
		return wire.ScramCredentialMechanismSHA256, sha256.New, nil
	case MechanismScramSHA512:
		return wire.ScramCredentialMechanismSHA512, sha512.New, nil
	}
	return 0, nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("SCRAM mechanism %q is not SCRAM-SHA-256 or SCRAM-SHA-512", name)}
}

func scramMechanismName(code int8) string {
	switch code {
	case wire.ScramCredentialMechanismSHA256:
		return MechanismScramSHA256
	case wire.ScramCredentialMechanismSHA512:
		return MechanismScramSHA512
	}
	return "UNKNOWN"
}

// DescribeUserScramCredentials returns the SCRAM credentials of the given
// users (nil or empty = every user that has one), by user name, each list
// sorted by mechanism. Naming a user without credentials is an error
// (RESOURCE_NOT_FOUND naming the user).
func (a *Admin) DescribeUserScramCredentials(ctx context.Context, users []string) (map[string][]ScramCredentialInfo, error) {
	var out map[string][]ScramCredentialInfo
	err := a.do(ctx, func(ctx context.Context) error {
		var err error
		out, err = a.describeScram(ctx, -1, users, true)
		return err
	})
	return out, err
}

// describeScram asks node (-1 = any broker); with strict, a per-user error
// fails the call, else such users are left out.
func (a *Admin) describeScram(ctx context.Context, node int32, users []string, strict bool) (map[string][]ScramCredentialInfo, error) {
	req := &wire.DescribeUserScramCredentialsRequest{}
	for _, u := range users {
		req.Users = append(req.Users, wire.DescribeUserScramCredentialsRequestUser{Name: u})
	}
	resp, addr, err := a.cl.requestAddr(ctx, node, req)
	if err != nil {
		return nil, err
	}
	r := resp.(*wire.DescribeUserScramCredentialsResponse)
	if err := kerr(r.ErrorCode, r.ErrorMessage, "describing SCRAM credentials", addr); err != nil {
		return nil, err
	}
	out := make(map[string][]ScramCredentialInfo, len(r.Results))
	for _, res := range r.Results {
		if res.ErrorCode != 0 {
			if strict {
				return nil, kerr(res.ErrorCode, res.ErrorMessage, fmt.Sprintf("SCRAM credentials of user %q", res.User), addr)
			}
			continue
		}
		infos := make([]ScramCredentialInfo, 0, len(res.CredentialInfos))
		for _, ci := range res.CredentialInfos {
			infos = append(infos, ScramCredentialInfo{Mechanism: scramMechanismName(ci.Mechanism), Iterations: ci.Iterations})
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Mechanism < infos[j].Mechanism })
		out[res.User] = infos
	}
	return out, nil
}

// AlterUserScramCredentials applies upsertions and deletions in one
// request, sent to the controller, and returns once every broker shows the result (credentials
// reach brokers asynchronously; a login right after a bare request may
// still fail). The error is that of the first user that failed (the
// others are applied); an invalid argument fails before anything is sent.
func (a *Admin) AlterUserScramCredentials(ctx context.Context, upserts []ScramUpsertion, deletes []ScramDeletion) error {
	if len(upserts) == 0 && len(deletes) == 0 {
		return nil
	}
	req := &wire.AlterUserScramCredentialsRequest{}
	for _, d := range deletes {
		code, _, err := scramMechanismCode(d.Mechanism)
		if err != nil {
			return err
		}
		if d.User == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "SCRAM deletion without a user name"}
		}
		req.Deletions = append(req.Deletions, wire.AlterUserScramCredentialsRequestDeletion{Name: d.User, Mechanism: code})
	}
	for _, u := range upserts {
		code, h, err := scramMechanismCode(u.Mechanism)
		if err != nil {
			return err
		}
		if u.User == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "SCRAM upsertion without a user name"}
		}
		if u.Password == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("SCRAM upsertion of user %q without a password", u.User)}
		}
		iters := u.Iterations
		if iters == 0 {
			iters = DefaultScramIterations
		}
		if iters < scramMinIterations || iters > scramMaxIterations {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("SCRAM iterations must be %d..%d, got %d", scramMinIterations, scramMaxIterations, iters)}
		}
		salt := u.Salt
		if len(salt) == 0 {
			salt = make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return err
			}
		}
		salted, err := scramSaltedPassword(h, string(u.Password), salt, int(iters))
		if err != nil {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "SCRAM password: " + err.Error()}
		}
		req.Upsertions = append(req.Upsertions, wire.AlterUserScramCredentialsRequestUpsertion{
			Name: u.User, Mechanism: code, Iterations: iters, Salt: salt, SaltedPassword: salted})
	}
	for _, round := range scramRounds(req) {
		err := a.do(ctx, func(ctx context.Context) error {
			// Kafka requires the controller (a ZooKeeper-mode broker or
			// kfake answer NOT_CONTROLLER elsewhere; KRaft brokers
			// forward it). NOT_CONTROLLER is retriable: the retry asks
			// the refreshed metadata again.
			resp, addr, err := a.controllerRequest(ctx, round)
			if err != nil {
				return err
			}
			for _, r := range resp.(*wire.AlterUserScramCredentialsResponse).Results {
				if err := kerr(r.ErrorCode, r.ErrorMessage, fmt.Sprintf("altering SCRAM credentials of user %q", r.User), addr); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return a.waitScram(ctx, upserts, deletes)
}

// scramRounds splits req so that no request names a user twice: some
// brokers (kfake) refuse that as DUPLICATE_RESOURCE even for different
// mechanisms. Round n holds each user's n-th operation, deletions first.
func scramRounds(req *wire.AlterUserScramCredentialsRequest) []*wire.AlterUserScramCredentialsRequest {
	var rounds []*wire.AlterUserScramCredentialsRequest
	seen := map[string]int{}
	roundFor := func(user string) *wire.AlterUserScramCredentialsRequest {
		n := seen[user]
		seen[user] = n + 1
		for len(rounds) <= n {
			rounds = append(rounds, &wire.AlterUserScramCredentialsRequest{})
		}
		return rounds[n]
	}
	for _, d := range req.Deletions {
		r := roundFor(d.Name)
		r.Deletions = append(r.Deletions, d)
	}
	for _, u := range req.Upsertions {
		r := roundFor(u.Name)
		r.Upsertions = append(r.Upsertions, u)
	}
	return rounds
}

// waitScram polls every broker until it shows the upserted credentials
// (mechanism and iterations) and no longer shows the deleted ones.
func (a *Admin) waitScram(ctx context.Context, upserts []ScramUpsertion, deletes []ScramDeletion) error {
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	brokers, err := a.ListBrokers(ctx)
	if err != nil {
		return err
	}
	users := map[string]bool{}
	for _, u := range upserts {
		users[u.User] = true
	}
	for _, d := range deletes {
		users[d.User] = true
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	for _, b := range brokers {
		err := a.cl.cfg.Retry.retryUntil(ctx, func() error {
			got, err := a.describeScram(ctx, b.NodeID, names, false)
			if err != nil {
				return err
			}
			has := func(user, mech string, iters int32) bool {
				for _, ci := range got[user] {
					if ci.Mechanism == mech && (iters == 0 || ci.Iterations == iters) {
						return true
					}
				}
				return false
			}
			for _, u := range upserts {
				iters := u.Iterations
				if iters == 0 {
					iters = DefaultScramIterations
				}
				if !has(u.User, u.Mechanism, iters) {
					return &wire.Error{Code: wire.ErrTimedOut, Detail: fmt.Sprintf("broker %d does not show the SCRAM credential of %q yet", b.NodeID, u.User)}
				}
			}
			for _, d := range deletes {
				if has(d.User, d.Mechanism, 0) && !upserted(upserts, d) {
					return &wire.Error{Code: wire.ErrTimedOut, Detail: fmt.Sprintf("broker %d still shows the deleted SCRAM credential of %q", b.NodeID, d.User)}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func upserted(upserts []ScramUpsertion, d ScramDeletion) bool {
	for _, u := range upserts {
		if u.User == d.User && u.Mechanism == d.Mechanism {
			return true
		}
	}
	return false
}
