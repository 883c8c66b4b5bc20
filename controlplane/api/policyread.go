package api

import (
	"net/http"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/sqlsubset"
)

func maskText(fn string, args []int64) string {
	return sqlsubset.Mask{Func: fn, Args: args}.String()
}

func (s *server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ps, next, err := s.cfg.Catalog.ListPolicies(r.Context(), principalOf(r), p)
	if err != nil {
		return err
	}
	out := apitypes.PolicyList{Policies: []apitypes.Policy{}, NextPageToken: next}
	for _, pol := range ps {
		o := apitypes.Policy{Name: pol.Name, Kind: string(pol.Kind), TagPattern: pol.TagPattern, UnlessUnmask: pol.UnlessUnmaskTag,
			Filter: pol.FilterSQL, Version: pol.Version, CreatedAt: pol.CreatedAt}
		if pol.Table != "" {
			o.Table = statement.TableName{Database: pol.Database, Table: pol.Table}.String()
		}
		if pol.MaskFunction != "" {
			o.Mask = maskText(pol.MaskFunction, pol.MaskArgs)
		}
		out.Policies = append(out.Policies, o)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) tablePolicy(w http.ResponseWriter, r *http.Request) error {
	db, table := r.PathValue("db"), r.PathValue("table")
	masks, tags, err := s.cfg.Catalog.TablePolicy(r.Context(), principalOf(r), db, table)
	if err != nil {
		return err
	}
	out := apitypes.TablePolicy{Table: statement.TableName{Database: db, Table: table}.String(), Masks: []apitypes.Mask{}, Tags: tags}
	if out.Tags == nil {
		out.Tags = map[string][]string{}
	}
	for _, m := range masks {
		who := "everyone"
		if m.Principal != nil {
			who = string(m.Principal.Kind) + " " + m.Principal.Name
		}
		out.Masks = append(out.Masks, apitypes.Mask{ID: m.ID, Column: m.Column, Mask: maskText(m.Function, m.Args), Principal: who, Version: m.Version, CreatedAt: m.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) listUnmasks(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.UnmaskFilter{Database: q.Get("database"), Table: q.Get("table")}
	if f.Principal, err = principalFilter(q); err != nil {
		return err
	}
	us, next, err := s.cfg.Catalog.ListUnmasks(r.Context(), principalOf(r), f, p)
	if err != nil {
		return err
	}
	out := apitypes.UnmaskList{Unmasks: []apitypes.Unmask{}, NextPageToken: next}
	for _, u := range us {
		col := ""
		if u.Column != "" {
			col = statement.TableName{Database: u.Database, Table: u.Table}.String() + "." + u.Column
		}
		out.Unmasks = append(out.Unmasks, apitypes.Unmask{ID: u.ID, Principal: string(u.Principal.Kind) + " " + u.Principal.Name,
			Column: col, Tag: u.Tag, CreatedAt: u.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
