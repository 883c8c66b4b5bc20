package api

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

// DefaultAgentLostAfter is Config.AgentLostAfter's default.
const DefaultAgentLostAfter = time.Minute

func joinTokenOut(j store.JoinToken, secret string) apitypes.JoinToken {
	return apitypes.JoinToken{ID: j.ID, Secret: secret, Comment: j.Comment, MaxUses: j.MaxUses, Uses: j.Uses,
		ExpiresAt: j.ExpiresAt, RevokedAt: j.RevokedAt, CreatedAt: j.CreatedAt}
}

func (s *server) createJoinToken(w http.ResponseWriter, r *http.Request) error {
	var req apitypes.JoinTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		return apierr.New(apierr.InvalidArgument, "field ttl=%q: want a duration such as 1h", req.TTL)
	}
	if req.Uses == 0 {
		req.Uses = 1
	}
	secret, rec, err := s.cfg.Catalog.CreateJoinToken(r.Context(), principalOf(r), ttl, req.Uses, req.Comment, requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, joinTokenOut(rec, secret))
	return nil
}

func (s *server) listJoinTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	toks, next, err := s.cfg.Catalog.ListJoinTokens(r.Context(), principalOf(r), p)
	if err != nil {
		return err
	}
	out := apitypes.JoinTokenList{JoinTokens: []apitypes.JoinToken{}, NextPageToken: next}
	for _, t := range toks {
		out.JoinTokens = append(out.JoinTokens, joinTokenOut(t, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) revokeJoinToken(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Catalog.RevokeJoinToken(r.Context(), principalOf(r), r.PathValue("id"), requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, joinTokenOut(rec, ""))
	return nil
}

func (s *server) agentOut(a store.Agent, now time.Time) apitypes.Agent {
	state := apitypes.AgentActive
	switch {
	case a.RevokedAt != nil:
		state = apitypes.AgentRevoked
	case now.Sub(a.LastSeenAt) > s.cfg.AgentLostAfter:
		state = apitypes.AgentLost
	}
	listeners := strings.Fields(a.Listeners)
	if listeners == nil {
		listeners = []string{}
	}
	return apitypes.Agent{ID: a.ID, Node: a.NodeName, Method: a.Method, Subject: a.Subject, Version: a.AgentVersion,
		Listeners: listeners, Health: a.Health, State: state, LastHeartbeat: a.LastSeenAt, CertExpiresAt: a.CertNotAfter,
		EnrolledAt: a.EnrolledAt, RevokedAt: a.RevokedAt}
}

func (s *server) listAgents(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	agents, next, err := s.cfg.Catalog.ListAgents(r.Context(), principalOf(r), p)
	if err != nil {
		return err
	}
	out := apitypes.AgentList{Agents: []apitypes.Agent{}, NextPageToken: next}
	now := time.Now()
	for _, a := range agents {
		out.Agents = append(out.Agents, s.agentOut(a, now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) revokeAgent(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Catalog.RevokeAgent(r.Context(), principalOf(r), r.PathValue("id"), requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.agentOut(rec, time.Now()))
	return nil
}

// statusAgents are the unrevoked agents for status?detail, LOST first.
func (s *server) statusAgents(r *http.Request) ([]apitypes.Agent, error) {
	if s.cfg.Catalog == nil {
		return nil, nil
	}
	agents, _, err := s.cfg.Catalog.ListAgents(r.Context(), principalOf(r), store.Page{PageSize: 1000})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []apitypes.Agent
	for _, a := range agents {
		if a.RevokedAt == nil {
			out = append(out, s.agentOut(a, now))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].State == apitypes.AgentLost && out[j].State != apitypes.AgentLost })
	return out, nil
}
