package catalog

import (
	"context"

	"github.com/nscale/nscale/controlplane/auth"
	"github.com/nscale/nscale/controlplane/store"
)

// ListDatabases pages through databases (admins).
func (s *Service) ListDatabases(ctx context.Context, p auth.Principal, page store.Page) ([]store.Database, string, error) {
	if err := s.requireAdmin(ctx, p, "listing databases"); err != nil {
		return nil, "", err
	}
	return s.store.ListDatabases(ctx, page)
}

// ListTables pages through a database's tables (admins).
func (s *Service) ListTables(ctx context.Context, p auth.Principal, db string, page store.Page) ([]store.Table, string, error) {
	if err := s.requireAdmin(ctx, p, "listing tables"); err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetDatabase(ctx, db); err != nil {
		return nil, "", err
	}
	return s.store.ListTables(ctx, db, page)
}

// GetTable returns a table with its columns (admins).
func (s *Service) GetTable(ctx context.Context, p auth.Principal, db, table string) (store.Table, error) {
	if err := s.requireAdmin(ctx, p, "reading tables"); err != nil {
		return store.Table{}, err
	}
	return s.store.GetTable(ctx, db, table)
}

// ListGrants pages through grants, optionally of one principal or object
// (admins).
func (s *Service) ListGrants(ctx context.Context, p auth.Principal, f store.GrantFilter, page store.Page) ([]store.Grant, string, error) {
	if err := s.requireAdmin(ctx, p, "listing grants"); err != nil {
		return nil, "", err
	}
	return s.store.ListGrants(ctx, f, page)
}

// ListPolicies pages through tag and safeguard policies (admins).
func (s *Service) ListPolicies(ctx context.Context, p auth.Principal, page store.Page) ([]store.Policy, string, error) {
	if err := s.requireAdmin(ctx, p, "listing policies"); err != nil {
		return nil, "", err
	}
	return s.store.ListPolicies(ctx, page)
}

// TablePolicy returns every mask and tag written on a table (admins).
func (s *Service) TablePolicy(ctx context.Context, p auth.Principal, db, table string) ([]store.Mask, map[string][]string, error) {
	if err := s.requireAdmin(ctx, p, "reading table policy"); err != nil {
		return nil, nil, err
	}
	if _, err := s.store.GetTable(ctx, db, table); err != nil {
		return nil, nil, err
	}
	var masks []store.Mask
	page := store.Page{PageSize: store.MaxPageSize}
	for {
		ms, next, err := s.store.ListMasks(ctx, db, table, page)
		if err != nil {
			return nil, nil, err
		}
		masks = append(masks, ms...)
		if next == "" {
			break
		}
		page.PageToken = next
	}
	tags, err := s.store.ColumnTags(ctx, db, table)
	return masks, tags, err
}

// ListUnmasks pages through UNMASK grants (admins).
func (s *Service) ListUnmasks(ctx context.Context, p auth.Principal, f store.UnmaskFilter, page store.Page) ([]store.Unmask, string, error) {
	if err := s.requireAdmin(ctx, p, "listing UNMASK grants"); err != nil {
		return nil, "", err
	}
	return s.store.ListUnmasks(ctx, f, page)
}
