package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

func principalOf(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func requestID(w http.ResponseWriter) string { return w.Header().Get(apitypes.RequestIDHeader) }

// page reads page_size and page_token.
func page(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{PageToken: q.Get("page_token")}
	if v := q.Get("page_size"); q.Has("page_size") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return p, apierr.New(apierr.InvalidArgument, "query parameter page_size=%q: want 1 to %d", v, store.MaxPageSize)
		}
		p.PageSize = n
	}
	return p, nil
}

func (s *server) explain(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	user, table := q.Get("user"), q.Get("table")
	if user == "" {
		return apierr.New(apierr.InvalidArgument, "query parameter user is required")
	}
	db, t, ok := strings.Cut(table, ".")
	if !ok || db == "" || t == "" || strings.Contains(t, ".") {
		return apierr.New(apierr.InvalidArgument, "query parameter table=%q: want database.table", table)
	}
	text, eff, err := s.cfg.Catalog.Explain(r.Context(), principalOf(r), user, db, t)
	if err != nil {
		return err
	}
	out := apitypes.Explain{User: user, Table: table, Text: text, Effective: json.RawMessage("null")}
	if eff != nil {
		b, err := eff.Canonical()
		if err != nil {
			return err
		}
		out.Access, out.Effective = true, b
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func tokenOut(t store.Token, secret string) apitypes.Token {
	return apitypes.Token{ID: t.ID, User: t.User, Name: t.Name, Secret: secret, ExpiresAt: t.ExpiresAt,
		RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req apitypes.TokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ttl, err := time.ParseDuration(req.TTL)
	if err != nil {
		return apierr.New(apierr.InvalidArgument, "field ttl=%q: want a duration such as 24h", req.TTL)
	}
	secret, rec, err := s.cfg.Catalog.CreateToken(r.Context(), principalOf(r), req.User, req.Name, ttl, requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenOut(rec, secret))
	return nil
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	toks, next, err := s.cfg.Catalog.ListTokens(r.Context(), principalOf(r), r.URL.Query().Get("user"), p)
	if err != nil {
		return err
	}
	out := apitypes.TokenList{Tokens: []apitypes.Token{}, NextPageToken: next}
	for _, t := range toks {
		out.Tokens = append(out.Tokens, tokenOut(t, ""))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.cfg.Catalog.RevokeToken(r.Context(), principalOf(r), r.PathValue("id"), requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenOut(rec, ""))
	return nil
}

func kindParam(v string) (store.PrincipalKind, error) {
	switch v {
	case "user":
		return store.User, nil
	case "group":
		return store.Group, nil
	case "role":
		return store.Role, nil
	}
	return "", apierr.New(apierr.InvalidArgument, "principal kind %q: want user, group or role", v)
}

func (s *server) createPrincipal(w http.ResponseWriter, r *http.Request) error {
	var req apitypes.PrincipalRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	kind, err := kindParam(req.Kind)
	if err != nil {
		return err
	}
	if req.Name == "" {
		return apierr.New(apierr.InvalidArgument, "field name is empty")
	}
	p, err := s.cfg.Catalog.CreatePrincipal(r.Context(), principalOf(r), kind, req.Name, req.Comment, requestID(w))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apitypes.Principal{Kind: string(p.Kind), Name: p.Name, Comment: p.Comment, Version: p.Version, CreatedAt: p.CreatedAt})
	return nil
}

func (s *server) listPrincipals(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	var kind store.PrincipalKind
	if v := r.URL.Query().Get("kind"); v != "" {
		if kind, err = kindParam(v); err != nil {
			return err
		}
	}
	ps, next, err := s.cfg.Catalog.ListPrincipals(r.Context(), principalOf(r), kind, p)
	if err != nil {
		return err
	}
	out := apitypes.PrincipalList{Principals: []apitypes.Principal{}, NextPageToken: next}
	for _, p := range ps {
		out.Principals = append(out.Principals, apitypes.Principal{Kind: string(p.Kind), Name: p.Name, Comment: p.Comment, Version: p.Version, CreatedAt: p.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getPrincipal(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r.PathValue("kind"))
	if err != nil {
		return err
	}
	p, parents, attrs, err := s.cfg.Catalog.Principal(r.Context(), principalOf(r), store.PrincipalRef{Kind: kind, Name: r.PathValue("name")})
	if err != nil {
		return err
	}
	out := apitypes.Principal{Kind: string(p.Kind), Name: p.Name, Comment: p.Comment, Attributes: attrs, Version: p.Version, CreatedAt: p.CreatedAt}
	for _, pp := range parents {
		out.MemberOf = append(out.MemberOf, string(pp.Kind)+" "+pp.Name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) deletePrincipal(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r.PathValue("kind"))
	if err != nil {
		return err
	}
	if err := s.cfg.Catalog.DeletePrincipal(r.Context(), principalOf(r), store.PrincipalRef{Kind: kind, Name: r.PathValue("name")}, requestID(w)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) setAttribute(w http.ResponseWriter, r *http.Request) error {
	var req apitypes.AttributeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.cfg.Catalog.SetAttribute(r.Context(), principalOf(r), r.PathValue("user"), r.PathValue("key"), req.Value, requestID(w)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) deleteAttribute(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Catalog.DeleteAttribute(r.Context(), principalOf(r), r.PathValue("user"), r.PathValue("key"), requestID(w)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) addMember(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r.PathValue("kind"))
	if err != nil {
		return err
	}
	if err := s.cfg.Catalog.AddMember(r.Context(), principalOf(r), r.PathValue("group"), store.PrincipalRef{Kind: kind, Name: r.PathValue("member")}, requestID(w)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) removeMember(w http.ResponseWriter, r *http.Request) error {
	kind, err := kindParam(r.PathValue("kind"))
	if err != nil {
		return err
	}
	if err := s.cfg.Catalog.RemoveMember(r.Context(), principalOf(r), r.PathValue("group"), store.PrincipalRef{Kind: kind, Name: r.PathValue("member")}, requestID(w)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	evs, next, err := s.cfg.Catalog.ListAudit(r.Context(), principalOf(r), p)
	if err != nil {
		return err
	}
	out := apitypes.AuditList{Events: []apitypes.AuditEvent{}, NextPageToken: next}
	for _, e := range evs {
		detail := e.Detail
		if len(detail) == 0 {
			detail = json.RawMessage("null")
		}
		out.Events = append(out.Events, apitypes.AuditEvent{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Outcome: e.Outcome, Statement: e.Statement, Detail: detail, PolicyVersionBefore: e.PolicyVersionBefore,
			PolicyVersionAfter: e.PolicyVersionAfter, RequestID: e.RequestID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
