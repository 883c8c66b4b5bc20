package agentrpc

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nscale/nscale/controlplane/agentca"
	"github.com/nscale/nscale/controlplane/enrol"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/agentid"
	"github.com/nscale/nscale/internal/apierr"
)

// maxEvidence bounds what an unauthenticated caller makes the control
// plane parse.
const maxEvidence = 64 << 10

// Enroll checks the evidence with the method's attestor and signs the
// agent's first certificate. Every attempt is audited and counted.
func (s *Service) Enroll(ctx context.Context, req *agentapi.EnrollRequest) (*agentapi.CertificateResponse, error) {
	method := req.GetMethod()
	resp, ident, err := s.enroll(ctx, req)
	label := method
	if _, ok := s.cfg.Attestors[method]; !ok {
		label = "unknown"
	}
	s.m.enrolments.WithLabelValues(label, string(codeOf(err))).Inc()
	detail := map[string]any{"method": method, "node": req.GetNode(), "agent_version": req.GetAgentVersion()}
	target := "agent"
	if err != nil {
		detail["code"], detail["message"] = string(apierr.CodeOf(err)), apierr.PublicMessage(err)
		s.log.Warn("agent enrolment refused", "method", method, "node", req.GetNode(), "error", apierr.PublicMessage(err))
	} else {
		target = "agent " + ident.ID
		detail["subject"], detail["spiffe_id"], detail["expires_at"] = ident.Subject, resp.GetSpiffeId(), resp.GetExpiresAt().AsTime()
	}
	if aerr := s.audit(ctx, "agent.enrol", target, detail, err); aerr != nil {
		return nil, apierr.Wrap(apierr.Unavailable, aerr, "the enrolment cannot be audited, so it is refused; try again")
	}
	return resp, err
}

func (s *Service) enroll(ctx context.Context, req *agentapi.EnrollRequest) (*agentapi.CertificateResponse, enrol.Identity, error) {
	att, ok := s.cfg.Attestors[req.GetMethod()]
	if !ok {
		return nil, enrol.Identity{}, apierr.New(apierr.InvalidArgument, "enrolment method %q is not enabled on this control plane (enabled: %s)",
			req.GetMethod(), strings.Join(s.methods(), ", "))
	}
	if len(req.GetEvidence()) == 0 || len(req.GetEvidence()) > maxEvidence {
		return nil, enrol.Identity{}, apierr.New(apierr.InvalidArgument, "enrolment evidence must be 1 byte to %d KiB", maxEvidence>>10)
	}
	if len(req.GetNode()) > 255 || len(req.GetAgentVersion()) > 64 {
		return nil, enrol.Identity{}, apierr.New(apierr.InvalidArgument, "node name or agent version too long")
	}
	// The request is checked before the evidence, so that a bad one does
	// not spend a join token's use.
	if _, err := agentca.ParseCSR(req.GetCsr()); err != nil {
		return nil, enrol.Identity{}, err
	}
	ident, err := att.Attest(ctx, enrol.Request{Method: req.GetMethod(), Evidence: req.GetEvidence(), Node: req.GetNode()})
	if err != nil {
		return nil, enrol.Identity{}, err
	}
	if !agentid.ValidPart(ident.ID) {
		return nil, enrol.Identity{}, apierr.New(apierr.Internal, "attestor %s returned an invalid agent id", att.Method())
	}
	id := agentid.ID{TrustDomain: s.cfg.CA.TrustDomain(), Method: att.Method(), Agent: ident.ID}
	iss, err := s.cfg.CA.SignAgent(req.GetCsr(), id)
	if err != nil {
		return nil, enrol.Identity{}, err
	}
	if _, err := s.cfg.Catalog.EnrolAgent(ctx, store.Agent{ID: ident.ID, NodeName: ident.Node, Method: att.Method(), Subject: ident.Subject,
		AgentVersion: req.GetAgentVersion(), CertSerial: iss.Serial, CertNotAfter: iss.NotAfter}, ident.Unique, s.now()); err != nil {
		return nil, enrol.Identity{}, err
	}
	return s.certResponse(id, iss), ident, nil
}

// Renew signs a fresh certificate for the calling agent.
func (s *Service) Renew(ctx context.Context, req *agentapi.RenewRequest) (*agentapi.CertificateResponse, error) {
	id, ok := agentOf(ctx)
	if !ok {
		return nil, apierr.New(apierr.Unauthenticated, "no agent certificate")
	}
	resp, err := s.renew(ctx, id, req)
	s.m.renewals.WithLabelValues(string(codeOf(err))).Inc()
	detail := map[string]any{"spiffe_id": id.String()}
	if err != nil {
		detail["code"], detail["message"] = string(apierr.CodeOf(err)), apierr.PublicMessage(err)
	} else {
		detail["expires_at"] = resp.GetExpiresAt().AsTime()
	}
	if aerr := s.audit(ctx, "agent.renew", "agent "+id.Agent, detail, err); aerr != nil {
		return nil, apierr.Wrap(apierr.Unavailable, aerr, "the renewal cannot be audited, so it is refused; try again")
	}
	return resp, err
}

func (s *Service) renew(ctx context.Context, id agentid.ID, req *agentapi.RenewRequest) (*agentapi.CertificateResponse, error) {
	iss, err := s.cfg.CA.SignAgent(req.GetCsr(), id)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Catalog.RenewAgent(ctx, id.Agent, iss.Serial, iss.NotAfter); err != nil {
		if apierr.Is(err, apierr.FailedPrecondition) {
			s.revoked.add(id.Agent)
			return nil, apierr.New(apierr.Unauthenticated, "agent %s is revoked", id.Agent)
		}
		if apierr.Is(err, apierr.NotFound) {
			return nil, apierr.New(apierr.Unauthenticated, "agent %s is not in the registry: enrol again", id.Agent)
		}
		return nil, err
	}
	return s.certResponse(id, iss), nil
}

func (s *Service) certResponse(id agentid.ID, iss agentca.Issued) *agentapi.CertificateResponse {
	return &agentapi.CertificateResponse{AgentId: id.Agent, SpiffeId: id.String(), CertificateChain: [][]byte{iss.DER},
		CaBundle: s.cfg.CA.Bundle(), ExpiresAt: timestamppb.New(iss.NotAfter)}
}

// Heartbeat records what the agent says of itself.
func (s *Service) Heartbeat(ctx context.Context, req *agentapi.HeartbeatRequest) (*agentapi.HeartbeatResponse, error) {
	id, ok := agentOf(ctx)
	if !ok {
		return nil, apierr.New(apierr.Unauthenticated, "no agent certificate")
	}
	if len(req.GetListeners()) > 16 {
		return nil, apierr.New(apierr.InvalidArgument, "at most 16 listeners")
	}
	if err := s.cfg.Catalog.HeartbeatAgent(ctx, id.Agent, req.GetAgentVersion(), strings.Join(req.GetListeners(), " "), req.GetHealth()); err != nil {
		return nil, err
	}
	return &agentapi.HeartbeatResponse{IntervalSeconds: int64(s.cfg.HeartbeatInterval.Seconds())}, nil
}

// Methods lists the enabled enrolment methods.
func (s *Service) Methods() []string { return s.methods() }

func (s *Service) methods() []string {
	var out []string
	for m := range s.cfg.Attestors {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func (s *Service) audit(ctx context.Context, action, target string, detail map[string]any, err error) error {
	e := store.AuditEvent{Actor: "agent-api", Action: action, Target: target, Outcome: outcome(err)}
	e.Detail, _ = json.Marshal(detail)
	return s.cfg.Catalog.Record(ctx, e)
}

func codeOf(err error) apierr.Code {
	if err == nil {
		return "OK"
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return apierr.CodeOf(err)
}
