package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Unmask is an UNMASK grant: its principal sees a column, or every column
// with a matching tag, unmasked.
type Unmask struct {
	ID        string
	Principal PrincipalRef
	// Database, Table and Column name one column; or
	Database string
	Table    string
	Column   string
	// Tag is a tag pattern (e.g. pii or pii.*), kept as is; Database, Table
	// and Column are then empty.
	Tag       string
	Version   int64
	CreatedAt time.Time
}

// UnmaskFilter selects UNMASK grants to list: the principal's own, and
// those on the columns of one table (Database and Table). Both may be set.
type UnmaskFilter struct {
	Principal *PrincipalRef
	Database  string
	Table     string
}

func (u Unmask) label() string {
	if u.Tag != "" {
		return "tag " + u.Tag + " for " + string(u.Principal.Kind) + " " + u.Principal.Name
	}
	return u.Database + "." + u.Table + "." + u.Column + " for " + string(u.Principal.Kind) + " " + u.Principal.Name
}

const unmaskSelect = `SELECT u.id, p.kind, p.name, COALESCE(d.name, ''), COALESCE(t.name, ''), u.column_name, u.tag_pattern,
	u.version, u.created_at
	FROM unmasks u
	JOIN principals p ON p.id = u.principal_id
	LEFT JOIN catalog_tables t ON t.id = u.table_id
	LEFT JOIN catalog_databases d ON d.id = t.database_id`

func scanUnmask(sc scanner) (Unmask, error) {
	var u Unmask
	var kind string
	var created int64
	if err := sc.Scan(&u.ID, &kind, &u.Principal.Name, &u.Database, &u.Table, &u.Column, &u.Tag, &u.Version, &created); err != nil {
		return Unmask{}, err
	}
	u.Principal.Kind, u.CreatedAt = PrincipalKind(kind), fromMicros(created)
	return u, nil
}

// CreateUnmask adds an UNMASK grant (a policy change): on a column (Database,
// Table and Column set, Tag empty) or on a tag pattern (Tag set, the others
// empty). The same grant twice is AlreadyExists; a missing principal,
// table or column NotFound.
func (tx *Tx) CreateUnmask(ctx context.Context, u Unmask) (Unmask, error) {
	if err := u.Principal.check(); err != nil {
		return Unmask{}, err
	}
	onTag := u.Tag != ""
	switch {
	case onTag && (u.Database != "" || u.Table != "" || u.Column != ""):
		return Unmask{}, apierr.New(apierr.InvalidArgument, "an UNMASK grant is on a tag or on a column, not both")
	case onTag:
		if err := checkName("tag pattern", u.Tag); err != nil {
			return Unmask{}, err
		}
	default:
		if err := (TableRef{Database: u.Database, Name: u.Table}).check(); err != nil {
			return Unmask{}, err
		}
		if err := checkName("column", u.Column); err != nil {
			return Unmask{}, err
		}
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Unmask{}, err
	}
	pid, err := tx.principalID(ctx, u.Principal)
	if err != nil {
		return Unmask{}, err
	}
	var tableID, key string
	if onTag {
		key = "t:" + u.Tag
	} else {
		ref := TableRef{Database: u.Database, Name: u.Table}
		if tableID, err = tx.tableID(ctx, ref); err != nil {
			return Unmask{}, err
		}
		if err := tx.q().checkColumnsExist(ctx, tx.s, tableID, ref.label(), []string{u.Column}); err != nil {
			return Unmask{}, err
		}
		key = "c:" + tableID + ":" + u.Column
	}
	at := now()
	u.ID, u.Version, u.CreatedAt = newID(), 1, at
	if _, err := tx.q().exec(ctx, `INSERT INTO unmasks (id, principal_id, table_id, column_name, tag_pattern, unmask_key,
		version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		u.ID, pid, nullString(tableID), u.Column, u.Tag, key, micros(at), micros(at)); err != nil {
		return Unmask{}, tx.s.writeErr(err, "UNMASK grant", u.label())
	}
	return u, nil
}

// GetUnmask returns the UNMASK grant or NotFound.
func (s *Store) GetUnmask(ctx context.Context, id string) (Unmask, error) {
	u, err := scanUnmask(s.q().queryRow(ctx, unmaskSelect+" WHERE u.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Unmask{}, notFound("UNMASK grant", id)
	}
	return u, s.dbErr(err, "read UNMASK grant")
}

// DeleteUnmask removes the UNMASK grant if its version is still version (a
// policy change).
func (tx *Tx) DeleteUnmask(ctx context.Context, id string, version int64) error {
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting UNMASK grant %q needs the version you read", id)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM unmasks WHERE id = ? AND version = ?", id, version)
	return tx.checkVersioned(ctx, res, err, "UNMASK grant", id, version, "SELECT version FROM unmasks WHERE id = ?", id)
}

// ListUnmasks returns one page of the UNMASK grants f selects, oldest
// first, and the token of the next page. A principal or table f names that
// does not exist is NotFound.
func (s *Store) ListUnmasks(ctx context.Context, f UnmaskFilter, p Page) ([]Unmask, string, error) {
	return s.q().listUnmasks(ctx, s, f, p)
}

// ListUnmasks is Store.ListUnmasks inside the transaction.
func (tx *Tx) ListUnmasks(ctx context.Context, f UnmaskFilter, p Page) ([]Unmask, string, error) {
	return tx.q().listUnmasks(ctx, tx.s, f, p)
}

func (q querier) listUnmasks(ctx context.Context, s *Store, f UnmaskFilter, p Page) ([]Unmask, string, error) {
	var conds []string
	var args []any
	list := "unmasks"
	if f.Principal != nil {
		pr, err := q.getPrincipal(ctx, s, *f.Principal)
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "u.principal_id = ?"), append(args, pr.ID)
		list += ":" + string(pr.Kind) + ":" + pr.Name
	}
	if f.Database != "" || f.Table != "" {
		id, err := q.tableID(ctx, s, TableRef{Database: f.Database, Name: f.Table})
		if err != nil {
			return nil, "", err
		}
		conds, args = append(conds, "u.table_id = ?"), append(args, id)
		list += ":" + id
	}
	return pageByKey(ctx, q, s, list, p, unmaskSelect, "u.id", conds, args, scanUnmask, func(u Unmask) string { return u.ID })
}
