package store

import (
	"context"
	"slices"

	"github.com/nscale/nscale/internal/apierr"
)

// ColumnTag is one tag on one column.
type ColumnTag struct {
	Database string
	Table    string
	Column   string
	Tag      string
}

// maxTagsPerCall bounds the tags of one SetColumnTags or UnsetColumnTags:
// they are looked up in one IN list, and SQLite takes at most 32766
// parameters in a statement.
const maxTagsPerCall = 1000

func checkTags(tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, apierr.New(apierr.InvalidArgument, "no tags given")
	}
	if len(tags) > maxTagsPerCall {
		return nil, apierr.New(apierr.InvalidArgument, "%d tags at once; give at most %d", len(tags), maxTagsPerCall)
	}
	for _, t := range tags {
		if err := checkName("tag", t); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// columnForTags validates the arguments of SetColumnTags and
// UnsetColumnTags, bumps the policy version and resolves the table.
func (tx *Tx) columnForTags(ctx context.Context, ref TableRef, column string, tags []string) (tableID string, sorted []string, err error) {
	if err := ref.check(); err != nil {
		return "", nil, err
	}
	if err := checkName("column", column); err != nil {
		return "", nil, err
	}
	if sorted, err = checkTags(tags); err != nil {
		return "", nil, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return "", nil, err
	}
	if tableID, err = tx.tableID(ctx, ref); err != nil {
		return "", nil, err
	}
	if err := tx.q().checkColumnsExist(ctx, tx.s, tableID, ref.label(), []string{column}); err != nil {
		return "", nil, err
	}
	return tableID, sorted, nil
}

// tagIDs maps the named tags that exist to their ids.
func (tx *Tx) tagIDs(ctx context.Context, names []string) (map[string]string, error) {
	type pair struct{ name, id string }
	rows, err := queryAll(ctx, tx.q(), func(sc scanner) (pair, error) {
		var p pair
		return p, sc.Scan(&p.name, &p.id)
	}, "SELECT name, id FROM tags WHERE name IN ("+placeholders(len(names))+")", anys(names)...)
	if err != nil {
		return nil, tx.s.dbErr(err, "read tags")
	}
	out := make(map[string]string, len(rows))
	for _, p := range rows {
		out[p.name] = p.id
	}
	return out, nil
}

// SetColumnTags adds tags to a column (a policy change), creating the tags
// that do not exist yet. Tags the column already has are kept.
func (tx *Tx) SetColumnTags(ctx context.Context, database, table, column string, tags []string) error {
	ref := TableRef{Database: database, Name: table}
	tableID, names, err := tx.columnForTags(ctx, ref, column, tags)
	if err != nil {
		return err
	}
	ids, err := tx.tagIDs(ctx, names)
	if err != nil {
		return err
	}
	at := micros(now())
	q := tx.q()
	for _, n := range names {
		if ids[n] != "" {
			continue
		}
		ids[n] = newID()
		if _, err := q.exec(ctx, "INSERT INTO tags (id, name, comment, version, created_at, updated_at) VALUES (?, ?, '', 1, ?, ?)",
			ids[n], n, at, at); err != nil {
			return tx.s.writeErr(err, "tag", n)
		}
	}
	have, err := queryAll(ctx, q, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, "SELECT tag_id FROM column_tags WHERE table_id = ? AND column_name = ?", tableID, column)
	if err != nil {
		return tx.s.dbErr(err, "read column tags")
	}
	var values []any
	for _, n := range names {
		if !slices.Contains(have, ids[n]) {
			values = append(values, tableID, column, ids[n], "", 1, at, at)
		}
	}
	if len(values) == 0 {
		return nil
	}
	if err := q.insertRows(ctx, "column_tags", []string{"table_id", "column_name", "tag_id", "tag_value", "version",
		"created_at", "updated_at"}, values); err != nil {
		return tx.s.writeErr(err, "tag on column", ref.label()+"."+column)
	}
	return nil
}

// UnsetColumnTags removes tags from a column (a policy change). A tag the
// column does not have is NotFound.
func (tx *Tx) UnsetColumnTags(ctx context.Context, database, table, column string, tags []string) error {
	ref := TableRef{Database: database, Name: table}
	tableID, names, err := tx.columnForTags(ctx, ref, column, tags)
	if err != nil {
		return err
	}
	ids, err := tx.tagIDs(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		res, err := tx.q().exec(ctx, "DELETE FROM column_tags WHERE table_id = ? AND column_name = ? AND tag_id = ?",
			tableID, column, ids[n])
		if err != nil {
			return tx.s.dbErr(err, "delete column tag")
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return apierr.New(apierr.NotFound, "column %q has no tag %q", ref.label()+"."+column, n)
		}
	}
	return nil
}

// ColumnTags returns the tags of the table's columns, sorted, by column
// name (nil if none). A missing table is NotFound.
func (s *Store) ColumnTags(ctx context.Context, database, table string) (map[string][]string, error) {
	return s.q().columnTags(ctx, s, TableRef{Database: database, Name: table})
}

// ColumnTags is Store.ColumnTags inside the transaction.
func (tx *Tx) ColumnTags(ctx context.Context, database, table string) (map[string][]string, error) {
	return tx.q().columnTags(ctx, tx.s, TableRef{Database: database, Name: table})
}

const columnTagSelect = `SELECT d.name, t.name, ct.column_name, g.name
	FROM column_tags ct
	JOIN tags g ON g.id = ct.tag_id
	JOIN catalog_tables t ON t.id = ct.table_id
	JOIN catalog_databases d ON d.id = t.database_id`

func scanColumnTag(sc scanner) (ColumnTag, error) {
	var c ColumnTag
	return c, sc.Scan(&c.Database, &c.Table, &c.Column, &c.Tag)
}

func (q querier) columnTags(ctx context.Context, s *Store, ref TableRef) (map[string][]string, error) {
	id, err := q.tableID(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	tags, err := queryAll(ctx, q, scanColumnTag, columnTagSelect+" WHERE ct.table_id = ? ORDER BY ct.column_name, g.name", id)
	if err != nil {
		return nil, s.dbErr(err, "read column tags")
	}
	var out map[string][]string
	for _, t := range tags {
		if out == nil {
			out = map[string][]string{}
		}
		out[t.Column] = append(out[t.Column], t.Tag)
	}
	return out, nil
}
