// Package jointoken is the simplest enrolment method: an operator creates
// a token (`nscalectl agents join-token create --ttl 1h --uses 1`), hands it
// to the node's bootstrap, and the agent presents it once. The control
// plane keeps only its SHA-256; each use spends one of its uses.
package jointoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentid"
	"github.com/nscale/nscale/internal/apierr"
)

// Prefix marks join tokens so they are recognisable in a leaked file (and
// by secret scanners), and never mistaken for a user token.
const Prefix = "nsj_"

// New returns a fresh token and the hash under which it is stored.
func New() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = Prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token), nil
}

// Hash is the stored form of a token.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Store spends token uses (catalog.Service, store.Store).
type Store interface {
	UseJoinToken(ctx context.Context, sha256hex string, at time.Time) (store.JoinToken, error)
}

// Attestor accepts join tokens.
type Attestor struct {
	Store Store
	Now   func() time.Time
}

// Method is enrol.JoinToken.
func (Attestor) Method() string { return enrol.JoinToken }

// Attest spends one use of the token. The agent learns only that the
// token was refused; the reason (unknown, expired, revoked, used up) goes
// to the audit trail through the returned error's message, which the
// caller logs and audits but does not send.
func (a Attestor) Attest(ctx context.Context, req enrol.Request) (enrol.Identity, error) {
	tok := strings.TrimSpace(string(req.Evidence))
	if !strings.HasPrefix(tok, Prefix) || len(tok) > 256 {
		return enrol.Identity{}, apierr.New(apierr.Unauthenticated, "not a join token (they start with %s)", Prefix)
	}
	if req.Node != "" && !agentid.ValidPart(req.Node) {
		return enrol.Identity{}, apierr.New(apierr.InvalidArgument, "node name %q: want 1 to 128 of [A-Za-z0-9._-]", req.Node)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	jt, err := a.Store.UseJoinToken(ctx, Hash(tok), now())
	if err != nil {
		return enrol.Identity{}, err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return enrol.Identity{}, err
	}
	return enrol.Identity{
		ID:      "jt-" + hex.EncodeToString(b),
		Node:    req.Node,
		Subject: "join token " + jt.ID,
	}, nil
}
