package agentrpc

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

// maxURLsPerCall bounds one SignURLs call; agents ask per object.
const maxURLsPerCall = 1000

// open unseals a ticket an agent sends back: with a Sealer, only a sealed
// ticket that one of its keys opens is accepted (fail closed).
func (s *Service) open(ticket []byte) ([]byte, error) {
	if s.cfg.Sealer == nil {
		return ticket, nil
	}
	return s.cfg.Sealer.Open(ticket)
}

// SealingKeys hands agents the keys that open tickets, the sealing one
// first.
func (s *Service) SealingKeys(context.Context, *agentapi.SealingKeysRequest) (*agentapi.SealingKeysResponse, error) {
	if s.cfg.Sealer == nil {
		return nil, apierr.New(apierr.FailedPrecondition, "this control plane does not seal tickets")
	}
	return &agentapi.SealingKeysResponse{Keys: s.cfg.Sealer.Keys()}, nil
}

// verifier checks tickets against the signer's current and retired keys.
func (s *Service) verifier() (*taskplan.Verifier, error) {
	return taskplan.NewVerifier(s.cfg.Signer.PublicKeys(), 30*time.Second)
}

// SignURLs signs GET URLs for objects of a valid ticket this control plane
// issued. A path the ticket does not name is refused: a ticket is the only
// authority to read an object.
func (s *Service) SignURLs(ctx context.Context, req *agentapi.SignURLsRequest) (*agentapi.SignURLsResponse, error) {
	v, err := s.verifier()
	if err != nil {
		return nil, err
	}
	raw, err := s.open(req.GetTicket())
	if err != nil {
		return nil, err
	}
	task, err := v.VerifyValid(raw, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.policyStillCurrent(ctx, task); err != nil {
		s.m.urlsRefused.WithLabelValues("policy_changed").Inc()
		return nil, err
	}
	objects := make(map[string]bool, len(task.Objects))
	for _, o := range task.Objects {
		objects[o.Path] = true
	}
	paths := req.GetPaths()
	if len(paths) == 0 {
		for _, o := range task.Objects {
			paths = append(paths, o.Path)
		}
	}
	if len(paths) > maxURLsPerCall {
		return nil, apierr.New(apierr.InvalidArgument, "%d URLs asked at once; at most %d per call", len(paths), maxURLsPerCall)
	}
	signer, store, locate, err := s.signerFor(task.Location)
	if err != nil {
		return nil, err
	}
	resp := &agentapi.SignURLsResponse{}
	for _, p := range paths {
		if !objects[p] {
			return nil, apierr.New(apierr.PermissionDenied, "object %q is not part of this task", p)
		}
		obj, err := locate(p)
		if err != nil {
			return nil, err
		}
		signed, err := signer.SignGet(ctx, obj, s.cfg.URLTTL)
		if err != nil {
			return nil, apierr.Wrap(presignCode(err), err, "cannot sign a URL for object %s of %s", p, task.Table)
		}
		resp.Urls = append(resp.Urls, &agentapi.SignedURL{Path: p, Url: signed.URL, ExpiresAt: timestamppb.New(signed.Expires)})
	}
	s.m.urlsSigned.WithLabelValues(store).Add(float64(len(resp.Urls)))
	return resp, nil
}

// signerFor picks the signer for a table location and returns how to turn
// an object path (relative to the location) into what it signs. The
// location is parsed by discovery, exactly as it was when the table was
// created and listed: no percent-decoding, no query or fragment, so the
// object signed is the object listed.
func (s *Service) signerFor(location string) (presign.Signer, string, func(string) (presign.Object, error), error) {
	l, err := discovery.ParseLocation(location)
	if err != nil {
		return nil, "", nil, apierr.Wrap(apierr.Internal, err, "task location is not a table location")
	}
	switch l.Scheme {
	case discovery.SchemeS3:
		if s.cfg.S3 == nil {
			return nil, "", nil, apierr.New(apierr.FailedPrecondition, "this control plane has no S3 signer configured")
		}
		return s.cfg.S3, "s3", func(p string) (presign.Object, error) {
			return presign.Object{Bucket: l.Bucket, Key: l.Key(p)}, nil
		}, nil
	case discovery.SchemeFile:
		if s.cfg.Files == nil || s.cfg.LocalRoot == "" {
			return nil, "", nil, apierr.New(apierr.FailedPrecondition, "file:// tables are disabled: local_files.root is not set")
		}
		root, err := filepath.Abs(s.cfg.LocalRoot)
		if err != nil {
			return nil, "", nil, apierr.Wrap(apierr.Internal, err, "local_files.root")
		}
		return s.cfg.Files, "local", func(p string) (presign.Object, error) {
			rel, err := filepath.Rel(root, l.File(p))
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return presign.Object{}, apierr.New(apierr.PermissionDenied, "object %s is outside local_files.root", p)
			}
			return presign.Object{Key: filepath.ToSlash(rel)}, nil
		}, nil
	}
	return nil, "", nil, apierr.New(apierr.Internal, "task location scheme %q has no signer", l.Scheme)
}

// presignCode keeps a signing error's kind: credentials that cannot be had
// now are Unavailable (retry later), an object the signer cannot name (a
// key or path it refuses) is FailedPrecondition (the table holds an object
// nscale cannot serve), a TTL or configuration error is the operator's
// (FailedPrecondition too); only an unknown error is Internal.
func presignCode(err error) apierr.Code {
	switch {
	case errors.Is(err, presign.ErrCredentials):
		return apierr.Unavailable
	case errors.Is(err, presign.ErrInvalidArgument):
		return apierr.FailedPrecondition
	case apierr.CodeOf(err) != apierr.Internal:
		return apierr.CodeOf(err)
	}
	return apierr.Internal
}

// policyStillCurrent refuses a ticket whose user's policy on its table is no
// longer the one it was planned under (a REVOKE, a new mask or row filter):
// a ticket outlives neither its grant nor its policy. The agent re-plans
// nothing itself; the user plans the query again.
func (s *Service) policyStillCurrent(ctx context.Context, task taskplan.Task) error {
	db, table, ok := strings.Cut(task.Table, ".")
	if !ok {
		return apierr.New(apierr.Internal, "ticket names table %q without a database", task.Table)
	}
	// The groups the user's credential vouched for at planning, from the
	// signed ticket: the same principal as the plan's.
	ctx = auth.WithPrincipal(ctx, auth.Principal{User: task.Principal, Groups: task.Groups})
	eff, err := s.cfg.Catalog.ReadPolicy(ctx, task.Principal, db, table)
	switch {
	case apierr.Is(err, apierr.PermissionDenied), apierr.Is(err, apierr.NotFound):
		return apierr.New(apierr.PermissionDenied, "user %s may no longer read %s: access changed after the query was planned", task.Principal, task.Table)
	case err != nil:
		return err
	case eff.RulesHash != task.PolicyHash:
		return apierr.New(apierr.FailedPrecondition, "the policy of user %s on %s changed after the query was planned; run the query again", task.Principal, task.Table)
	}
	return nil
}
