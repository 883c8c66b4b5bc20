// Package semanticstest loads the table of comparison and LIKE cases in
// internal/sqlsubset/testdata/semantics.json, which every evaluator of the
// SQL subset runs and which integration checks against DuckDB, so that
// folding, pruning and evaluation cannot drift apart.
package semanticstest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// Case is one comparison (Left Op Right) or one LIKE (Text [NOT] [I]LIKE
// Pattern) and its answer; Want nil is NULL.
type Case struct {
	Name string
	// A comparison.
	Left, Right *sqlsubset.Literal
	Op          sqlsubset.CompareOp
	// A LIKE.
	Like            bool
	Text            *sqlsubset.Literal // a string or NULL
	Pattern         string
	CaseInsensitive bool
	Not             bool

	Want *bool
	// DuckDB is the case as a DuckDB query of one boolean.
	DuckDB string
}

// Expr is the case as a subset expression over two literals.
func (c Case) Expr() sqlsubset.Expr {
	if c.Like {
		return &sqlsubset.Like{Expr: c.Text, Pattern: c.Pattern, Not: c.Not, CaseInsensitive: c.CaseInsensitive}
	}
	return &sqlsubset.Compare{Op: c.Op, Left: c.Left, Right: c.Right}
}

// Path is the table's file.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "semantics.json")
}

type value [2]string // type, text

type table struct {
	Compare []struct {
		L, R value
		Op   string
		Want *bool
	}
	Like []struct {
		S       *string
		P       string
		CI, Not bool
		Want    *bool
	}
}

// Load reads the table.
func Load(tb testing.TB) []Case {
	tb.Helper()
	raw, err := os.ReadFile(Path())
	if err != nil {
		tb.Fatal(err)
	}
	var t table
	if err := json.Unmarshal(raw, &t); err != nil {
		tb.Fatalf("%s: %v", Path(), err)
	}
	var out []Case
	for _, c := range t.Compare {
		l, ldb, err := literal(c.L)
		if err != nil {
			tb.Fatalf("%v: %v", c.L, err)
		}
		r, rdb, err := literal(c.R)
		if err != nil {
			tb.Fatalf("%v: %v", c.R, err)
		}
		op := sqlsubset.CompareOp(c.Op)
		out = append(out, Case{
			Name: fmt.Sprintf("%s %s %s", show(c.L), c.Op, show(c.R)),
			Left: l, Right: r, Op: op, Want: c.Want,
			DuckDB: fmt.Sprintf("SELECT (%s) %s (%s)", ldb, c.Op, rdb),
		})
	}
	for _, c := range t.Like {
		text, textDB := sqlsubset.NullLiteral(), "NULL"
		if c.S != nil {
			text, textDB = sqlsubset.StringLiteral(*c.S), duckString(*c.S)
		}
		op := "LIKE"
		if c.CI {
			op = "ILIKE"
		}
		if c.Not {
			op = "NOT " + op
		}
		s := "NULL"
		if c.S != nil {
			s = strconv.Quote(*c.S)
		}
		out = append(out, Case{
			Name: fmt.Sprintf("%s %s %q", s, op, c.P),
			Like: true, Text: text, Pattern: c.P, CaseInsensitive: c.CI, Not: c.Not, Want: c.Want,
			DuckDB: fmt.Sprintf("SELECT %s %s %s ESCAPE '\\'", textDB, op, duckString(c.P)),
		})
	}
	return out
}

func show(v value) string { return v[0] + " " + strconv.Quote(v[1]) }

func duckString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// literal builds the subset's literal of v and DuckDB's expression for it.
func literal(v value) (*sqlsubset.Literal, string, error) {
	if v[0] == "null" {
		return sqlsubset.NullLiteral(), "NULL", nil
	}
	t, err := sqlsubset.ParseType(v[0])
	if err != nil {
		return nil, "", err
	}
	s := v[1]
	switch t.ID {
	case sqlsubset.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		return sqlsubset.Int64Literal(n), "CAST('" + s + "' AS BIGINT)", err
	case sqlsubset.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		return sqlsubset.Uint64Literal(n), "CAST('" + s + "' AS UBIGINT)", err
	case sqlsubset.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && s == "-0" {
			f = math.Copysign(0, -1)
		}
		return sqlsubset.Float64Literal(f), "CAST('" + s + "' AS DOUBLE)", err
	case sqlsubset.Decimal128:
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, "", fmt.Errorf("not a decimal: %q", s)
		}
		scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil)))
		if !scaled.IsInt() {
			return nil, "", fmt.Errorf("%q has more than %d decimals", s, t.Scale)
		}
		return sqlsubset.DecimalLiteral(scaled.Num().String(), t.Precision, t.Scale),
			fmt.Sprintf("CAST('%s' AS DECIMAL(%d,%d))", s, t.Precision, t.Scale), nil
	case sqlsubset.String:
		return sqlsubset.StringLiteral(s), duckString(s), nil
	case sqlsubset.Bool:
		b, err := strconv.ParseBool(s)
		return sqlsubset.BoolLiteral(b), "CAST('" + s + "' AS BOOLEAN)", err
	case sqlsubset.Date32:
		d, err := sqlsubset.ParseDate(s)
		return sqlsubset.Date32Literal(d), "DATE '" + s + "'", err
	case sqlsubset.Timestamp:
		ts, _, _, err := sqlsubset.ParseTimestamp(s)
		if err != nil {
			return nil, "", err
		}
		db := "TIMESTAMP '" + s + "'"
		switch {
		case t.TZ != "":
			db = "TIMESTAMPTZ '" + s + "'"
		case t.Unit == sqlsubset.Nano:
			db = "TIMESTAMP_NS '" + s + "'"
		}
		return sqlsubset.TimestampLiteral(sqlsubset.TimestampValue(ts, t.Unit), t.Unit, t.TZ), db, nil
	}
	return nil, "", fmt.Errorf("type %s is not in the table's vocabulary", t)
}
