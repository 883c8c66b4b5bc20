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
