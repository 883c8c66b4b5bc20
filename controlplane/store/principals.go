package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// PrincipalKind is what a principal is: a user, a group or a role.
type PrincipalKind string

const (
	User  PrincipalKind = "user"
	Group PrincipalKind = "group"
	Role  PrincipalKind = "role"
)

func (k PrincipalKind) check() error {
	switch k {
	case User, Group, Role:
		return nil
	}
	return apierr.New(apierr.InvalidArgument, "unknown principal kind %q; want user, group or role", string(k))
}

// Principal is a user, group or role. Kind and Name together are unique.
type Principal struct {
	ID      string
	Kind    PrincipalKind
	Name    string
	Comment string
	// Version increases with every update.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Ref names the principal.
func (p Principal) Ref() PrincipalRef { return PrincipalRef{Kind: p.Kind, Name: p.Name} }

// CatalogAdmin is the built-in role that manages and reads everything. It is
// created by schema migration 2 (with id CatalogAdminID in a database that
// had no role of that name) and cannot be deleted; users and groups get its
// powers by membership.
var CatalogAdmin = PrincipalRef{Kind: Role, Name: "catalog_admin"}

// CatalogAdminID is the id migration 2 gives the catalog_admin role.
const CatalogAdminID = "00000000-0000-7000-8000-000000000001"

// PrincipalRef names a principal by kind and name.
type PrincipalRef struct {
	Kind PrincipalKind
	Name string
}

func (r PrincipalRef) check() error {
	if err := r.Kind.check(); err != nil {
		return err
	}
	return checkName(string(r.Kind), r.Name)
}

const principalColumns = "id, kind, name, comment, version, created_at, updated_at"

func scanPrincipal(sc scanner) (Principal, error) {
	var p Principal
	var kind string
	var created, updated int64
	if err := sc.Scan(&p.ID, &kind, &p.Name, &p.Comment, &p.Version, &created, &updated); err != nil {
		return Principal{}, err
	}
	p.Kind, p.CreatedAt, p.UpdatedAt = PrincipalKind(kind), fromMicros(created), fromMicros(updated)
	return p, nil
}

// CreatePrincipal adds a user, group or role (a policy change). Kind and
// Name are required; ID, Version and times are set by the store. A taken
// kind and name is AlreadyExists.
func (tx *Tx) CreatePrincipal(ctx context.Context, p Principal) (Principal, error) {
	if err := p.Ref().check(); err != nil {
		return Principal{}, err
	}
	if err := checkText(string(p.Kind)+" comment", p.Comment); err != nil {
		return Principal{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Principal{}, err
	}
	t := now()
	p.ID, p.Version, p.CreatedAt, p.UpdatedAt = newID(), 1, t, t
	if _, err := tx.q().exec(ctx, "INSERT INTO principals ("+principalColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		p.ID, string(p.Kind), p.Name, p.Comment, p.Version, micros(t), micros(t)); err != nil {
		return Principal{}, tx.s.writeErr(err, string(p.Kind), p.Name)
	}
	return p, nil
}

// DeletePrincipal removes a principal if its version is still version (a
// policy change). Its memberships, attributes, tokens, grants (with their
// row filters), masks and UNMASK grants go with it. The built-in
// catalog_admin role cannot be deleted (FailedPrecondition).
func (tx *Tx) DeletePrincipal(ctx context.Context, ref PrincipalRef, version int64) error {
	if err := ref.check(); err != nil {
		return err
	}
	if ref == CatalogAdmin {
		return apierr.New(apierr.FailedPrecondition, "role %q is built in and cannot be deleted", ref.Name)
	}
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting %s %q needs the version you read", ref.Kind, ref.Name)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM principals WHERE kind = ? AND name = ? AND version = ?",
		string(ref.Kind), ref.Name, version)
	if err := tx.checkVersioned(ctx, res, err, string(ref.Kind), ref.Name, version,
		"SELECT version FROM principals WHERE kind = ? AND name = ?", string(ref.Kind), ref.Name); err != nil {
		return err
	}
	// The principal's grants went by cascade; their row filters go now.
	return tx.deleteOrphanRowFilters(ctx)
}

// GetPrincipal returns the principal or NotFound.
func (s *Store) GetPrincipal(ctx context.Context, ref PrincipalRef) (Principal, error) {
	return s.q().getPrincipal(ctx, s, ref)
}

// GetPrincipal returns the principal or NotFound.
func (tx *Tx) GetPrincipal(ctx context.Context, ref PrincipalRef) (Principal, error) {
	return tx.q().getPrincipal(ctx, tx.s, ref)
}

func (q querier) getPrincipal(ctx context.Context, s *Store, ref PrincipalRef) (Principal, error) {
	if err := ref.check(); err != nil {
		return Principal{}, err
	}
	p, err := scanPrincipal(q.queryRow(ctx, "SELECT "+principalColumns+" FROM principals WHERE kind = ? AND name = ?",
		string(ref.Kind), ref.Name))
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, notFound(string(ref.Kind), ref.Name)
	}
	return p, s.dbErr(err, "read principal")
}

// ListPrincipals returns one page of principals of kind ("" for every
// kind), ordered by kind then name, and the token of the next page.
func (s *Store) ListPrincipals(ctx context.Context, kind PrincipalKind, p Page) ([]Principal, string, error) {
	return s.q().listPrincipals(ctx, s, kind, p)
}

// ListPrincipals is Store.ListPrincipals inside the transaction.
func (tx *Tx) ListPrincipals(ctx context.Context, kind PrincipalKind, p Page) ([]Principal, string, error) {
	return tx.q().listPrincipals(ctx, tx.s, kind, p)
}

func (q querier) listPrincipals(ctx context.Context, s *Store, kind PrincipalKind, p Page) ([]Principal, string, error) {
	list := "principals"
	if kind != "" {
		if err := kind.check(); err != nil {
			return nil, "", err
		}
		list += ":" + string(kind)
	}
	cur, err := p.open(list, 2)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	var where []string
	var args []any
	if kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(kind))
	}
	if after != nil {
		where = append(where, "(kind > ? OR (kind = ? AND name > ?))")
		args = append(args, after[0], after[0], after[1])
	}
	query := "SELECT " + principalColumns + " FROM principals"
	for i, w := range where {
		if i == 0 {
			query += " WHERE " + w
		} else {
			query += " AND " + w
		}
	}
	rows, err := q.query(ctx, query+" ORDER BY kind, name LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list principals")
	}
	out, err := scanPrincipals(rows)
	if err != nil {
		return nil, "", s.dbErr(err, "list principals")
	}
	out, next := endPage(cur, out, func(last Principal) []string { return []string{string(last.Kind), last.Name} })
	return out, next, nil
}

func scanPrincipals(rows *sql.Rows) ([]Principal, error) {
	defer rows.Close()
	var out []Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// principalID resolves ref to its id, or NotFound.
func (tx *Tx) principalID(ctx context.Context, ref PrincipalRef) (string, error) {
	if err := ref.check(); err != nil {
		return "", err
	}
	var id string
	err := tx.q().queryRow(ctx, "SELECT id FROM principals WHERE kind = ? AND name = ?", string(ref.Kind), ref.Name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(string(ref.Kind), ref.Name)
	}
	return id, tx.s.dbErr(err, "read principal")
}
