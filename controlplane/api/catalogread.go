package api

import (
	"net/http"
	"net/url"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/controlplane/catalog"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
)

func (s *server) listDatabases(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ds, next, err := s.cfg.Catalog.ListDatabases(r.Context(), principalOf(r), p)
	if err != nil {
		return err
	}
	out := apitypes.DatabaseList{Databases: []apitypes.Database{}, NextPageToken: next}
	for _, d := range ds {
		out.Databases = append(out.Databases, apitypes.Database{Name: d.Name, Comment: d.Comment, Version: d.Version, CreatedAt: d.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func tableOut(t store.Table) apitypes.Table {
	out := apitypes.Table{Database: t.Database, Name: t.Name, Location: t.Location, Format: t.Format, FormatOptions: t.FormatOptions,
		Properties: t.Properties, Comment: t.Comment, Columns: []apitypes.Column{}, FilesListedAt: t.FilesListedAt, Version: t.Version, CreatedAt: t.CreatedAt}
	// The document promises objects: a table without options or
	// properties has empty ones, not null.
	if out.FormatOptions == nil {
		out.FormatOptions = map[string]string{}
	}
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	for _, c := range t.Columns {
		out.Columns = append(out.Columns, apitypes.Column{Name: c.Name, Type: c.Type, Nullable: c.Nullable, Partition: c.IsPartition, Comment: c.Comment})
	}
	return out
}

func (s *server) listTables(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ts, next, err := s.cfg.Catalog.ListTables(r.Context(), principalOf(r), r.PathValue("db"), p)
	if err != nil {
		return err
	}
	out := apitypes.TableList{Tables: []apitypes.Table{}, NextPageToken: next}
	for _, t := range ts {
		out.Tables = append(out.Tables, tableOut(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) getTable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.cfg.Catalog.GetTable(r.Context(), principalOf(r), r.PathValue("db"), r.PathValue("table"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tableOut(t))
	return nil
}

func (s *server) listGrants(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.GrantFilter{Database: q.Get("database"), Table: q.Get("table")}
	if f.Principal, err = principalFilter(q); err != nil {
		return err
	}
	gs, next, err := s.cfg.Catalog.ListGrants(r.Context(), principalOf(r), f, p)
	if err != nil {
		return err
	}
	out := apitypes.GrantList{Grants: []apitypes.Grant{}, NextPageToken: next}
	for _, g := range gs {
		on := catalog.GrantTarget(g)
		filter := ""
		if g.Filter != nil {
			filter = g.Filter.SQL
		}
		cols := g.Columns
		if cols == nil {
			cols = []string{}
		}
		out.Grants = append(out.Grants, apitypes.Grant{ID: g.ID, Principal: string(g.Principal.Kind) + " " + g.Principal.Name,
			Privilege: string(g.Privilege), On: on, Columns: cols, Filter: filter, GrantedBy: g.GrantedBy, Version: g.Version, CreatedAt: g.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// principalFilter reads principal and principal_kind, which it needs. A
// principal_kind is checked even without a principal, so that a typo is
// refused rather than ignored.
func principalFilter(q url.Values) (*store.PrincipalRef, error) {
	name, kindText := q.Get("principal"), q.Get("principal_kind")
	if name == "" && kindText == "" {
		return nil, nil
	}
	kind, err := kindParam(kindText)
	if err != nil {
		return nil, apierr.New(apierr.InvalidArgument, "query parameter principal_kind=%q: want user, group or role (required with principal)", kindText)
	}
	if name == "" {
		return nil, nil
	}
	return &store.PrincipalRef{Kind: kind, Name: name}, nil
}
