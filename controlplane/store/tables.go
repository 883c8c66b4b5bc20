package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Table formats.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
	FormatJSON    = "json"
)

// Table is a catalog table: a location holding files of one format, and
// its columns.
type Table struct {
	ID string
	// Database is the name of the table's database.
	Database string
	Name     string
	// Location is the root of the table's files, e.g. s3://bucket/sales/orders/.
	Location string
	// Format is parquet, csv or json.
	Format        string
	FormatOptions map[string]string
	Properties    map[string]string
	Comment       string
	// Columns in position order. Partition columns are the ones with
	// IsPartition.
	Columns []Column
	// FilesListedAt is when ReplaceFiles last stored the table's files (nil
	// if never). It is not part of the table's definition: setting it
	// changes neither Version nor UpdatedAt.
	FilesListedAt *time.Time
	// Version increases with every change of the definition (UpdateTable,
	// AddColumns); pass the version you read to change or delete the table.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Column is a column of a table.
type Column struct {
	Name string
	// Type is an Arrow type string such as int64, decimal128(10,2),
	// timestamp(us, UTC) or struct<a:int32>; the store does not parse it.
	Type string
	// Position is the column's 0-based place in the table. The store sets
	// it: the index in the Columns given to CreateTable, then after the last
	// column for AddColumns.
	Position    int
	Nullable    bool
	Comment     string
	IsPartition bool
}

// PartitionColumns returns the partition columns, in position order.
func (t Table) PartitionColumns() []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.IsPartition {
			out = append(out, c)
		}
	}
	return out
}

// TableRef names a table by ID, or by database and table name when ID is
// empty.
type TableRef struct {
	ID       string
	Database string
	Name     string
}

// label names the table in messages.
func (r TableRef) label() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Database + "." + r.Name
}

func (r TableRef) check() error {
	if r.ID != "" {
		return nil
	}
	if err := checkName("database", r.Database); err != nil {
		return err
	}
	return checkName("table", r.Name)
}

const tableColumns = "t.id, d.name, t.name, t.location, t.format, t.format_options, t.properties, t.comment, t.files_listed_at, t.version, t.created_at, t.updated_at"

const tableFrom = " FROM catalog_tables t JOIN catalog_databases d ON d.id = t.database_id"

func scanTable(sc scanner) (Table, error) {
	var t Table
	var opts, props string
	var listed sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&t.ID, &t.Database, &t.Name, &t.Location, &t.Format, &opts, &props, &t.Comment, &listed,
		&t.Version, &created, &updated); err != nil {
		return Table{}, err
	}
	var err error
	if t.FormatOptions, err = decodeMap("table format options", opts); err != nil {
		return Table{}, err
	}
	if t.Properties, err = decodeMap("table properties", props); err != nil {
		return Table{}, err
	}
	t.FilesListedAt = timePtr(listed)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

func checkFormat(f string) error {
	switch f {
	case FormatParquet, FormatCSV, FormatJSON:
		return nil
	}
	return apierr.New(apierr.InvalidArgument, "unknown table format %q; want parquet, csv or json", f)
}

// checkColumns validates new columns; have names the table's existing
// columns (a clash with one is AlreadyExists).
func checkColumns(table string, cols []Column, have map[string]bool) error {
	seen := map[string]bool{}
	for _, c := range cols {
		if err := checkName("column", c.Name); err != nil {
			return err
		}
		if c.Type == "" {
			return apierr.New(apierr.InvalidArgument, "column %q has no type", c.Name)
		}
		if err := checkText("type of column "+c.Name, c.Type); err != nil {
			return err
		}
		if err := checkText("comment of column "+c.Name, c.Comment); err != nil {
			return err
		}
		if seen[c.Name] {
			return apierr.New(apierr.InvalidArgument, "column %q is listed twice", c.Name)
		}
		if have[c.Name] {
			return alreadyExists("column", table+"."+c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// checkDefinition validates the caller-set fields of a table update and
// returns the encoded format options and properties.
func (t Table) checkDefinition() (opts, props string, err error) {
	if err := checkText("table comment", t.Comment); err != nil {
		return "", "", err
	}
	if opts, err = encodeMap("table format options", t.FormatOptions); err != nil {
		return "", "", err
	}
	if props, err = encodeMap("table properties", t.Properties); err != nil {
		return "", "", err
	}
	return opts, props, nil
}

// CreateTable adds a table and its columns (a policy change). Database,
// Name, Location, Format and at least one column are required; ID, Version,
// times and column positions are set by the store. A missing database is
// NotFound, a taken name AlreadyExists.
func (tx *Tx) CreateTable(ctx context.Context, t Table) (Table, error) {
	ref := TableRef{Database: t.Database, Name: t.Name}
	if err := ref.check(); err != nil {
		return Table{}, err
	}
	if t.Location == "" {
		return Table{}, apierr.New(apierr.InvalidArgument, "table %q has no location", ref.label())
	}
	if err := checkText("table location", t.Location); err != nil {
		return Table{}, err
	}
	if err := checkFormat(t.Format); err != nil {
		return Table{}, err
	}
	opts, props, err := t.checkDefinition()
	if err != nil {
		return Table{}, err
	}
	if len(t.Columns) == 0 {
		return Table{}, apierr.New(apierr.InvalidArgument, "table %q has no columns", ref.label())
	}
	if err := checkColumns(ref.label(), t.Columns, nil); err != nil {
		return Table{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Table{}, err
	}
	dbID, err := tx.databaseID(ctx, t.Database)
	if err != nil {
		return Table{}, err
	}
	now := now()
	t.ID, t.Version, t.CreatedAt, t.UpdatedAt, t.FilesListedAt = newID(), 1, now, now, nil
	if _, err := tx.q().exec(ctx, `INSERT INTO catalog_tables (id, database_id, name, location, format, format_options,
		properties, comment, files_listed_at, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
		t.ID, dbID, t.Name, t.Location, t.Format, opts, props, t.Comment, t.Version, micros(now), micros(now)); err != nil {
		return Table{}, tx.s.writeErr(err, "table", ref.label())
	}
	t.Columns = append([]Column(nil), t.Columns...)
	if err := tx.insertColumns(ctx, t.ID, ref.label(), t.Columns, 0, now); err != nil {
		return Table{}, err
	}
	t.FormatOptions, _ = decodeMap("", opts)
	t.Properties, _ = decodeMap("", props)
	return t, nil
}

// insertColumns inserts cols at positions first, first+1, ... and sets
// their Position.
func (tx *Tx) insertColumns(ctx context.Context, tableID, table string, cols []Column, first int, at time.Time) error {
	values := make([]any, 0, len(cols)*11)
	for i := range cols {
		cols[i].Position = first + i
		c := cols[i]
		values = append(values, newID(), tableID, c.Name, c.Type, c.Position, c.Nullable, c.Comment, c.IsPartition,
			1, micros(at), micros(at))
	}
	err := tx.q().insertRows(ctx, "catalog_columns", []string{"id", "table_id", "name", "arrow_type", "position",
		"nullable", "comment", "is_partition", "version", "created_at", "updated_at"}, values)
	if err != nil {
		return tx.s.writeErr(err, "column of table", table)
	}
	return nil
}

// databaseID resolves a database name, or NotFound.
func (tx *Tx) databaseID(ctx context.Context, name string) (string, error) {
	return tx.q().databaseID(ctx, tx.s, name)
}

func (q querier) databaseID(ctx context.Context, s *Store, name string) (string, error) {
	if err := checkName("database", name); err != nil {
		return "", err
	}
	var id string
	err := q.queryRow(ctx, "SELECT id FROM catalog_databases WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("database", name)
	}
	return id, s.dbErr(err, "read database")
}

// tableID resolves ref to the table's id, or NotFound (naming the database
// when that is what is missing).
func (q querier) tableID(ctx context.Context, s *Store, ref TableRef) (string, error) {
	if err := ref.check(); err != nil {
		return "", err
	}
	var id string
	var err error
	if ref.ID != "" {
		err = q.queryRow(ctx, "SELECT id FROM catalog_tables WHERE id = ?", ref.ID).Scan(&id)
	} else {
		err = q.queryRow(ctx, "SELECT t.id"+tableFrom+" WHERE d.name = ? AND t.name = ?", ref.Database, ref.Name).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", q.tableNotFound(ctx, s, ref)
	}
	return id, s.dbErr(err, "read table")
}

func (tx *Tx) tableID(ctx context.Context, ref TableRef) (string, error) {
	return tx.q().tableID(ctx, tx.s, ref)
}

// lockTable is tableID with a locking read (SELECT ... FOR UPDATE) of the
// table row on PostgreSQL and MySQL. SQLite needs none: its writers are
// serialised by BEGIN IMMEDIATE.
func (tx *Tx) lockTable(ctx context.Context, ref TableRef) (string, error) {
	if tx.s.dialect == SQLite {
		return tx.tableID(ctx, ref)
	}
	if err := ref.check(); err != nil {
		return "", err
	}
	q := tx.q()
	var id string
	var err error
	switch {
	case ref.ID != "":
		err = q.queryRow(ctx, "SELECT id FROM catalog_tables WHERE id = ? FOR UPDATE", ref.ID).Scan(&id)
	case tx.s.dialect == Postgres:
		err = q.queryRow(ctx, "SELECT t.id"+tableFrom+" WHERE d.name = ? AND t.name = ? FOR UPDATE OF t", ref.Database, ref.Name).Scan(&id)
	default:
		// MariaDB has no FOR UPDATE OF: the database row is locked too.
		err = q.queryRow(ctx, "SELECT t.id"+tableFrom+" WHERE d.name = ? AND t.name = ? FOR UPDATE", ref.Database, ref.Name).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", q.tableNotFound(ctx, tx.s, ref)
	}
	return id, tx.s.dbErr(err, "lock table")
}

// tableNotFound is NotFound for the database when it is missing, else for
// the table.
func (q querier) tableNotFound(ctx context.Context, s *Store, ref TableRef) error {
	if ref.ID == "" {
		var n int
		if err := q.queryRow(ctx, "SELECT COUNT(*) FROM catalog_databases WHERE name = ?", ref.Database).Scan(&n); err != nil {
			return s.dbErr(err, "read database")
		}
		if n == 0 {
			return notFound("database", ref.Database)
		}
	}
	return notFound("table", ref.label())
}

// checkColumnsExist checks that the table has the named columns, else NotFound.
func (q querier) checkColumnsExist(ctx context.Context, s *Store, tableID, table string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	have, err := q.columnNames(ctx, s, tableID)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !have[n] {
			return notFound("column", table+"."+n)
		}
	}
	return nil
}

func (q querier) columnNames(ctx context.Context, s *Store, tableID string) (map[string]bool, error) {
	names, err := queryAll(ctx, q, func(sc scanner) (string, error) {
		var n string
		return n, sc.Scan(&n)
	}, "SELECT name FROM catalog_columns WHERE table_id = ?", tableID)
	if err != nil {
		return nil, s.dbErr(err, "read columns")
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	return have, nil
}

// GetTable returns the table with its columns, or NotFound.
func (s *Store) GetTable(ctx context.Context, database, name string) (Table, error) {
	return s.q().getTable(ctx, s, TableRef{Database: database, Name: name})
}

// GetTable returns the table with its columns, or NotFound.
func (tx *Tx) GetTable(ctx context.Context, database, name string) (Table, error) {
	return tx.q().getTable(ctx, tx.s, TableRef{Database: database, Name: name})
}

// GetTableByID returns the table with its columns, or NotFound.
func (s *Store) GetTableByID(ctx context.Context, id string) (Table, error) {
	return s.q().getTable(ctx, s, TableRef{ID: id})
}

func (q querier) getTable(ctx context.Context, s *Store, ref TableRef) (Table, error) {
	if err := ref.check(); err != nil {
		return Table{}, err
	}
	var row *sql.Row
	if ref.ID != "" {
		row = q.queryRow(ctx, "SELECT "+tableColumns+tableFrom+" WHERE t.id = ?", ref.ID)
	} else {
		row = q.queryRow(ctx, "SELECT "+tableColumns+tableFrom+" WHERE d.name = ? AND t.name = ?", ref.Database, ref.Name)
	}
	t, err := scanTable(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Table{}, q.tableNotFound(ctx, s, ref)
	}
	if err != nil {
		return Table{}, s.dbErr(err, "read table")
	}
	tables := []Table{t}
	if err := q.loadColumns(ctx, tables, false); err != nil {
		return Table{}, s.dbErr(err, "read columns")
	}
	return tables[0], nil
}

const columnSelect = "SELECT table_id, name, arrow_type, position, nullable, comment, is_partition FROM catalog_columns"

type tableColumn struct {
	tableID string
	Column
}

func scanColumn(sc scanner) (tableColumn, error) {
	var c tableColumn
	err := sc.Scan(&c.tableID, &c.Name, &c.Type, &c.Position, &c.Nullable, &c.Comment, &c.IsPartition)
	return c, err
}

// loadColumns fills in the columns of tables. With all, tables holds every
// table (the snapshot) and every column is read in one query.
func (q querier) loadColumns(ctx context.Context, tables []Table, all bool) error {
	if len(tables) == 0 {
		return nil
	}
	index := make(map[string]int, len(tables))
	for i, t := range tables {
		index[t.ID] = i
	}
	var cols []tableColumn
	var err error
	if all {
		cols, err = queryAll(ctx, q, scanColumn, columnSelect+" ORDER BY table_id, position")
	} else {
		ids := make([]any, len(tables))
		for i, t := range tables {
			ids[i] = t.ID
		}
		cols, err = queryAll(ctx, q, scanColumn, columnSelect+" WHERE table_id IN ("+placeholders(len(ids))+") ORDER BY table_id, position", ids...)
	}
	if err != nil {
		return err
	}
	for _, c := range cols {
		if i, ok := index[c.tableID]; ok {
			tables[i].Columns = append(tables[i].Columns, c.Column)
		}
	}
	return nil
}

// ListTables returns one page of the database's tables (with their columns)
// ordered by name, and the token of the next page. A missing database is
// NotFound.
func (s *Store) ListTables(ctx context.Context, database string, p Page) ([]Table, string, error) {
	return s.q().listTables(ctx, s, database, p)
}

// ListTables is Store.ListTables inside the transaction.
func (tx *Tx) ListTables(ctx context.Context, database string, p Page) ([]Table, string, error) {
	return tx.q().listTables(ctx, tx.s, database, p)
}

func (q querier) listTables(ctx context.Context, s *Store, database string, p Page) ([]Table, string, error) {
	list := "tables"
	cur, err := p.open(list, 2)
	if err != nil {
		return nil, "", err
	}
	after := cur.after
	if after != nil && after[0] != database {
		return nil, "", cur.invalid()
	}
	dbID, err := q.databaseID(ctx, s, database)
	if err != nil {
		return nil, "", err
	}
	conds, args := []string{"t.database_id = ?"}, []any{dbID}
	if after != nil {
		conds, args = append(conds, "t.name > ?"), append(args, after[1])
	}
	out, err := queryAll(ctx, q, scanTable, "SELECT "+tableColumns+tableFrom+where(conds)+" ORDER BY t.name LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list tables")
	}
	out, next := endPage(cur, out, func(last Table) []string { return []string{database, last.Name} })
	if err := q.loadColumns(ctx, out, false); err != nil {
		return nil, "", s.dbErr(err, "read columns")
	}
	return out, next, nil
}

// UpdateTable replaces Comment, Properties and FormatOptions of the table
// named by t.Database and t.Name if its version is still t.Version (a
// policy change). Location, Format and Columns are not changed. A stale
// version is Conflict, a missing table NotFound.
func (tx *Tx) UpdateTable(ctx context.Context, t Table) (Table, error) {
	ref := TableRef{Database: t.Database, Name: t.Name}
	if err := ref.check(); err != nil {
		return Table{}, err
	}
	opts, props, err := t.checkDefinition()
	if err != nil {
		return Table{}, err
	}
	if t.Version <= 0 {
		return Table{}, apierr.New(apierr.InvalidArgument, "updating table %q needs the version you read", ref.label())
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Table{}, err
	}
	id, err := tx.tableID(ctx, ref)
	if err != nil {
		return Table{}, err
	}
	res, err := tx.q().exec(ctx, `UPDATE catalog_tables SET comment = ?, properties = ?, format_options = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
		t.Comment, props, opts, micros(now()), id, t.Version)
	if err := tx.checkVersioned(ctx, res, err, "table", ref.label(), t.Version,
		"SELECT version FROM catalog_tables WHERE id = ?", id); err != nil {
		return Table{}, err
	}
	return tx.q().getTable(ctx, tx.s, TableRef{ID: id})
}

// AddColumns appends columns to the table if its version is still version
// (a policy change), after its existing columns. A name the table already
// has is AlreadyExists.
func (tx *Tx) AddColumns(ctx context.Context, database, name string, cols []Column, version int64) (Table, error) {
	ref := TableRef{Database: database, Name: name}
	if err := ref.check(); err != nil {
		return Table{}, err
	}
	if len(cols) == 0 {
		return Table{}, apierr.New(apierr.InvalidArgument, "no columns to add to table %q", ref.label())
	}
	if err := checkColumns(ref.label(), cols, nil); err != nil {
		return Table{}, err
	}
	if version <= 0 {
		return Table{}, apierr.New(apierr.InvalidArgument, "adding columns to table %q needs the version you read", ref.label())
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Table{}, err
	}
	id, err := tx.tableID(ctx, ref)
	if err != nil {
		return Table{}, err
	}
	t := now()
	res, err := tx.q().exec(ctx, "UPDATE catalog_tables SET version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
		micros(t), id, version)
	if err := tx.checkVersioned(ctx, res, err, "table", ref.label(), version,
		"SELECT version FROM catalog_tables WHERE id = ?", id); err != nil {
		return Table{}, err
	}
	have, err := tx.q().columnNames(ctx, tx.s, id)
	if err != nil {
		return Table{}, err
	}
	if err := checkColumns(ref.label(), cols, have); err != nil {
		return Table{}, err
	}
	var next sql.NullInt64
	if err := tx.q().queryRow(ctx, "SELECT MAX(position) FROM catalog_columns WHERE table_id = ?", id).Scan(&next); err != nil {
		return Table{}, tx.s.dbErr(err, "read columns")
	}
	first := 0
	if next.Valid {
		first = int(next.Int64) + 1
	}
	if err := tx.insertColumns(ctx, id, ref.label(), append([]Column(nil), cols...), first, t); err != nil {
		return Table{}, err
	}
	return tx.q().getTable(ctx, tx.s, TableRef{ID: id})
}

// DeleteTable removes the table if its version is still version (a policy
// change), and with it everything that hangs off it: its columns, files,
// grants on it and their row filters, masks, column tags and UNMASK grants
// on its columns. Tag and safeguard policies name tables by name and stay.
func (tx *Tx) DeleteTable(ctx context.Context, database, name string, version int64) error {
	ref := TableRef{Database: database, Name: name}
	if err := ref.check(); err != nil {
		return err
	}
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting table %q needs the version you read", ref.label())
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	id, err := tx.tableID(ctx, ref)
	if err != nil {
		return err
	}
	// Lock the row at the expected version before touching what hangs off it.
	res, err := tx.q().exec(ctx, "UPDATE catalog_tables SET version = version + 1 WHERE id = ? AND version = ?", id, version)
	if err := tx.checkVersioned(ctx, res, err, "table", ref.label(), version,
		"SELECT version FROM catalog_tables WHERE id = ?", id); err != nil {
		return err
	}
	// Grants before their row filters (grants.row_filter_id is RESTRICT);
	// the rest explicitly rather than through cascades, in a fixed order.
	for _, table := range []string{"grants", "row_filters", "masks", "column_tags", "unmasks", "table_files", "catalog_columns"} {
		if _, err := tx.q().exec(ctx, "DELETE FROM "+table+" WHERE table_id = ?", id); err != nil {
			return tx.s.dbErr(err, "delete "+table+" of table "+ref.label())
		}
	}
	if _, err := tx.q().exec(ctx, "DELETE FROM catalog_tables WHERE id = ?", id); err != nil {
		return tx.s.writeErr(err, "table", ref.label())
	}
	return nil
}
