package planner

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// SplitColumn is the pseudo-column that divides a query's files into
// disjoint parts: WHERE _nscale_split = 'i/n' keeps the files whose path
// hashes to part i of n. Spark's JDBC source sends one query per element of
// its `predicates` option, so n predicates 0/n .. n-1/n read every file
// exactly once, whatever the task grouping (see docs/spark.md).
const SplitColumn = "_nscale_split"

// maxSplit bounds n so that a typo does not plan a million empty queries.
const maxSplit = 100_000

// split is part Part of Of.
type split struct{ Part, Of uint64 }

func (s *split) keeps(path string) bool {
	if s == nil {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()%s.Of == s.Part
}

// takeSplit removes the split pseudo-predicate from where. It must be a
// top-level conjunct (under OR or NOT it would not divide the files), at
// most once, compared with = to a string literal 'i/n'.
func takeSplit(where sqlsubset.Expr) (sqlsubset.Expr, *split, error) {
	if where == nil || !mentionsSplit(where) {
		return where, nil, nil
	}
	conj := []sqlsubset.Expr{where}
	if a, ok := where.(*sqlsubset.And); ok {
		conj = a.Args
	}
	var rest []sqlsubset.Expr
	var found *split
	for _, c := range conj {
		if !mentionsSplit(c) {
			rest = append(rest, c)
			continue
		}
		if a, ok := c.(*sqlsubset.And); ok { // Spark parenthesises: (a AND (split))
			r, s, err := takeSplit(a)
			if err != nil {
				return nil, nil, err
			}
			if found != nil && s != nil {
				return nil, nil, splitError("appears more than once")
			}
			found = s
			if r != nil {
				rest = append(rest, r)
			}
			continue
		}
		s, err := parseSplit(c)
		if err != nil {
			return nil, nil, err
		}
		if found != nil {
			return nil, nil, splitError("appears more than once")
		}
		found = s
	}
	switch len(rest) {
	case 0:
		return nil, found, nil
	case 1:
		return rest[0], found, nil
	}
	return &sqlsubset.And{Args: rest}, found, nil
}

func mentionsSplit(e sqlsubset.Expr) bool {
	for _, c := range sqlsubset.Columns(e) {
		if strings.EqualFold(c, SplitColumn) {
			return true
		}
	}
	return false
}

func parseSplit(e sqlsubset.Expr) (*split, error) {
	cmp, ok := e.(*sqlsubset.Compare)
	if !ok || cmp.Op != sqlsubset.Eq {
		return nil, splitError("must be a top-level condition " + SplitColumn + " = 'i/n', ANDed with the rest of the WHERE clause")
	}
	col, lok := cmp.Left.(*sqlsubset.Column)
	lit, rok := cmp.Right.(*sqlsubset.Literal)
	if !lok || !rok {
		col, lok = cmp.Right.(*sqlsubset.Column)
		lit, rok = cmp.Left.(*sqlsubset.Literal)
	}
	if !lok || !rok || len(col.Path) > 0 || lit.Type.ID != sqlsubset.String {
		return nil, splitError("must compare " + SplitColumn + " with a string 'i/n'")
	}
	is, ns, ok := strings.Cut(lit.Str, "/")
	i, err1 := strconv.ParseUint(is, 10, 64)
	n, err2 := strconv.ParseUint(ns, 10, 64)
	if !ok || err1 != nil || err2 != nil || n == 0 || n > maxSplit || i >= n {
		return nil, splitError("value " + strconv.Quote(lit.Str) + " is not 'i/n' with 0 <= i < n <= " + strconv.Itoa(maxSplit))
	}
	return &split{Part: i, Of: n}, nil
}

func splitError(msg string) error {
	return apierr.New(apierr.InvalidArgument, "WHERE: %s %s", SplitColumn, msg)
}
