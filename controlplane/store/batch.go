package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// insertBatchRows is how many rows one multi-row INSERT carries at most. With
// up to 11 columns that is 5,500 parameters, well under every dialect's
// limit (SQLite 32,766, PostgreSQL and MySQL 65,535).
const insertBatchRows = 500

// multiRowInsert is an INSERT of rows rows of len(columns) values each.
func multiRowInsert(d Dialect, table string, columns []string, rows int) string {
	tuple := "(" + placeholders(len(columns)) + ")"
	var b strings.Builder
	b.Grow(64 + rows*(len(tuple)+2))
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return Rebind(d, b.String())
}

// insertRows inserts rows into table with multi-row INSERT statements of
// at most insertBatchRows rows; the full-size statement is prepared once.
// values holds len(values)/len(columns) rows, row after row.
func (q querier) insertRows(ctx context.Context, table string, columns []string, values []any) error {
	width := len(columns)
	n := len(values) / width
	if full := n / insertBatchRows; full > 0 {
		stmt, err := q.r.PrepareContext(ctx, multiRowInsert(q.d, table, columns, insertBatchRows))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range full {
			if _, err := stmt.ExecContext(ctx, values[i*insertBatchRows*width:(i+1)*insertBatchRows*width]...); err != nil {
				return err
			}
		}
	}
	if rest := n % insertBatchRows; rest > 0 {
		// Rebound already: run it on the runner directly.
		if _, err := q.r.ExecContext(ctx, multiRowInsert(q.d, table, columns, rest), values[(n-rest)*width:]...); err != nil {
			return err
		}
	}
	return nil
}

// queryAll runs query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scan)
}

func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// placeholders is "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// anys converts a string slice to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// where joins conditions with AND into a WHERE clause ("" for none).
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// nullString is s, or NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullMicros is t in unix microseconds, or NULL for nil.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// timePtr reads a nullable microsecond time.
func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
