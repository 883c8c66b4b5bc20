// Package semanticstest loads the table of comparison and LIKE cases in
// internal/sqlsubset/testdata/semantics.json, which every evaluator of the
// SQL subset runs and which integration checks against DuckDB, so that
// folding, pruning and evaluation cannot drift apart.
package semanticstest

import (
	"encoding/hex"
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
// Pattern) and its answer: Want (nil is NULL), or Refused.
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
	// Refused is a case the subset refuses when it is written (the
	// checker, CompileLike): no evaluator may answer it.
	Refused bool
	// DuckDBOnRefused is what DuckDB does with a refused case: DuckDBError,
	// DuckDBZoneDependent or DuckDBCasts.
	DuckDBOnRefused string

	// DuckDB is the case as a DuckDB query of one boolean.
	DuckDB string
}

// What DuckDB does with a case the subset refuses.
const (
	DuckDBError         = "error"          // refuses it too
	DuckDBZoneDependent = "zone-dependent" // answers through its session TimeZone
	DuckDBCasts         = "casts"          // casts one side implicitly
)

// Expr is the case as a subset expression over two literals.
func (c Case) Expr() sqlsubset.Expr {
	if c.Like {
		return &sqlsubset.Like{Expr: c.Text, Pattern: c.Pattern, Not: c.Not, CaseInsensitive: c.CaseInsensitive}
	}
	return &sqlsubset.Compare{Op: c.Op, Left: c.Left, Right: c.Right}
}

// Writable reports whether the case's operands can be written in a filter
// or a query. NaN and infinities cannot (a literal must be finite): they
// come only from data, so only the agent, reading columns, meets them.
func (c Case) Writable() bool {
	for _, l := range []*sqlsubset.Literal{c.Left, c.Right, c.Text} {
		if l != nil && l.Validate() != nil {
			return false
		}
	}
	return true
}

// Path is the table's file.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "semantics.json")
}

type value [2]string // type, text

type table struct {
	Compare []struct {
		L, R   value
		Op     string
		Want   json.RawMessage
		DuckDB string
	}
	Like []struct {
		S       *string
		P       string
		CI, Not bool
		Want    json.RawMessage
		DuckDB  string
	}
}

// answer reads want (true, false, null or "refused") and duckdb, which a
// refused case must have and no other may.
func answer(want json.RawMessage, duckdb string) (*bool, bool, error) {
	if string(want) == `"refused"` {
		switch duckdb {
		case DuckDBError, DuckDBZoneDependent, DuckDBCasts:
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("a refused case needs duckdb: %q, %q or %q, not %q", DuckDBError, DuckDBZoneDependent, DuckDBCasts, duckdb)
	}
	if duckdb != "" {
		return nil, false, fmt.Errorf("duckdb %q on a case that is not refused", duckdb)
	}
	var b *bool
	if err := json.Unmarshal(want, &b); err != nil || len(want) == 0 {
		return nil, false, fmt.Errorf("want %s is not true, false, null or \"refused\"", want)
	}
	return b, false, nil
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
		name := fmt.Sprintf("%s %s %s", show(c.L), c.Op, show(c.R))
		want, refused, err := answer(c.Want, c.DuckDB)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, Case{
			Name: name,
			Left: l, Right: r, Op: sqlsubset.CompareOp(c.Op), Want: want,
			Refused: refused, DuckDBOnRefused: c.DuckDB,
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
		name := fmt.Sprintf("%s %s %q", s, op, c.P)
		want, refused, err := answer(c.Want, c.DuckDB)
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out = append(out, Case{
			Name: name,
			Like: true, Text: text, Pattern: c.P, CaseInsensitive: c.CI, Not: c.Not, Want: want,
			Refused: refused, DuckDBOnRefused: c.DuckDB,
			// The subset's backslash escape is DuckDB's ESCAPE '\'
			// (DuckDB has no escape by default).
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
	case sqlsubset.Binary:
		b, err := hex.DecodeString(s)
		return sqlsubset.BinaryLiteral(b), "from_hex('" + s + "')", err
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

// Show renders an answer: TRUE, FALSE or NULL (nil).
func Show(b *bool) string {
	switch {
	case b == nil:
		return "NULL"
	case *b:
		return "TRUE"
	}
	return "FALSE"
}

// Same reports whether two answers are equal, NULL included.
func Same(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
