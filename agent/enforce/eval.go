package enforce

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// kind is the evaluator's value class.
type kind int

const (
	kNull kind = iota
	kBool
	kInt
	kUint
	kFloat
	kDec
	kStr
	kBin
	kTime   // int64 in units of vec.unit nanoseconds (date32: a day)
	kStruct // a struct column: only its validity (IS NULL); its fields are read by path
)

// vec is an evaluated column of n values with validity.
type vec struct {
	k     kind
	valid []bool
	b     []bool
	i     []int64
	u     []uint64
	f     []float64
	d     []*big.Int
	s     []string
	scale int32
	unit  int64 // kTime: nanoseconds per unit
	zoned bool  // kTime: a timestamp with a time zone (an instant)
}

func newBoolVec(n int) *vec { return &vec{k: kBool, valid: make([]bool, n), b: make([]bool, n)} }

// getCol resolves a column name to an array.
type getCol func(name string) (arrow.Array, error)

var unitNanos = map[arrow.TimeUnit]int64{arrow.Second: 1e9, arrow.Millisecond: 1e6, arrow.Microsecond: 1e3, arrow.Nanosecond: 1}
var litUnitNanos = map[sqlsubset.TimeUnit]int64{sqlsubset.Second: 1e9, sqlsubset.Milli: 1e6, sqlsubset.Micro: 1e3, sqlsubset.Nano: 1}

const dayNanos = 86400 * 1e9

// loadArray converts a supported Arrow array into a vec.
func loadArray(a arrow.Array) (*vec, error) {
	n := a.Len()
	v := &vec{valid: make([]bool, n)}
	for i := 0; i < n; i++ {
		v.valid[i] = a.IsValid(i)
	}
	switch a := a.(type) {
	case *array.Boolean:
		v.k, v.b = kBool, make([]bool, n)
		for i := range n {
			v.b[i] = a.Value(i)
		}
	case *array.Int8:
		v.k, v.i = kInt, make([]int64, n)
		for i := range n {
			v.i[i] = int64(a.Value(i))
		}
	case *array.Int16:
		v.k, v.i = kInt, make([]int64, n)
		for i := range n {
			v.i[i] = int64(a.Value(i))
		}
	case *array.Int32:
		v.k, v.i = kInt, make([]int64, n)
		for i := range n {
			v.i[i] = int64(a.Value(i))
		}
	case *array.Int64:
		v.k, v.i = kInt, make([]int64, n)
		for i := range n {
			v.i[i] = a.Value(i)
		}
	case *array.Uint8:
		v.k, v.u = kUint, make([]uint64, n)
		for i := range n {
			v.u[i] = uint64(a.Value(i))
		}
	case *array.Uint16:
		v.k, v.u = kUint, make([]uint64, n)
		for i := range n {
			v.u[i] = uint64(a.Value(i))
		}
	case *array.Uint32:
		v.k, v.u = kUint, make([]uint64, n)
		for i := range n {
			v.u[i] = uint64(a.Value(i))
		}
	case *array.Uint64:
		v.k, v.u = kUint, make([]uint64, n)
		for i := range n {
			v.u[i] = a.Value(i)
		}
	case *array.Float32:
		v.k, v.f = kFloat, make([]float64, n)
		for i := range n {
			v.f[i] = float64(a.Value(i))
		}
	case *array.Float64:
		v.k, v.f = kFloat, make([]float64, n)
		for i := range n {
			v.f[i] = a.Value(i)
		}
	case *array.Decimal128:
		v.k, v.d = kDec, make([]*big.Int, n)
		v.scale = a.DataType().(*arrow.Decimal128Type).Scale
		for i := range n {
			if v.valid[i] {
				v.d[i] = a.Value(i).BigInt()
			}
		}
	case *array.String:
		v.k, v.s = kStr, make([]string, n)
		for i := range n {
			v.s[i] = a.Value(i)
		}
	case *array.LargeString:
		v.k, v.s = kStr, make([]string, n)
		for i := range n {
			v.s[i] = a.Value(i)
		}
	case *array.Binary:
		v.k, v.s = kBin, make([]string, n)
		for i := range n {
			v.s[i] = string(a.Value(i))
		}
	case *array.LargeBinary:
		v.k, v.s = kBin, make([]string, n)
		for i := range n {
			v.s[i] = string(a.Value(i))
		}
	case *array.Date32:
		v.k, v.i, v.unit = kTime, make([]int64, n), dayNanos
		for i := range n {
			v.i[i] = int64(a.Value(i))
		}
	case *array.Timestamp:
		v.k, v.i = kTime, make([]int64, n)
		ts := a.DataType().(*arrow.TimestampType)
		v.unit, v.zoned = unitNanos[ts.Unit], ts.TimeZone != ""
		for i := range n {
			v.i[i] = int64(a.Value(i))
		}
	case *array.Struct, *array.List, *array.LargeList, *array.FixedSizeList, *array.Map:
		// Nested values: only their validity is read (IS [NOT] NULL); the
		// type check refuses any other use.
		v.k = kStruct
	default:
		return nil, fmt.Errorf("enforce: unsupported column type %s", a.DataType())
	}
	return v, nil
}

// fieldArray follows path into the struct array a and returns the field's
// array and, for each row, whether every struct on the way is non-null (a
// field of a NULL struct is NULL whatever its own slot holds).
func fieldArray(a arrow.Array, name string, path []string) (arrow.Array, []bool, error) {
	valid := make([]bool, a.Len())
	for i := range valid {
		valid[i] = true
	}
	for _, f := range path {
		st, ok := a.(*array.Struct)
		if !ok {
			return nil, nil, fmt.Errorf("enforce: column %s is not a struct with field %s", name, f)
		}
		idx, ok := st.DataType().(*arrow.StructType).FieldIdx(f)
		if !ok {
			return nil, nil, fmt.Errorf("enforce: column %s has no field %s", name, f)
		}
		for i := range valid {
			valid[i] = valid[i] && st.IsValid(i)
		}
		a = st.Field(idx)
	}
	return a, valid, nil
}

// literalVec broadcasts l to n rows.
func literalVec(l *sqlsubset.Literal, n int) (*vec, error) {
	v := &vec{valid: make([]bool, n)}
	if l.Type.ID != sqlsubset.Null {
		for i := range v.valid {
			v.valid[i] = true
		}
	}
	switch l.Type.ID {
	case sqlsubset.Null:
		v.k = kNull
	case sqlsubset.Bool:
		v.k, v.b = kBool, make([]bool, n)
		for i := range n {
			v.b[i] = l.Bool
		}
	case sqlsubset.Int64:
		v.k, v.i = kInt, fillI(n, l.Int)
	case sqlsubset.Uint64:
		v.k, v.u = kUint, make([]uint64, n)
		for i := range n {
			v.u[i] = l.Uint
		}
	case sqlsubset.Float64:
		v.k, v.f = kFloat, make([]float64, n)
		for i := range n {
			v.f[i] = l.Float
		}
	case sqlsubset.Decimal128:
		x, ok := new(big.Int).SetString(l.Str, 10)
		if !ok {
			return nil, fmt.Errorf("enforce: bad decimal literal")
		}
		v.k, v.d, v.scale = kDec, make([]*big.Int, n), l.Type.Scale
		for i := range n {
			v.d[i] = x
		}
	case sqlsubset.String, sqlsubset.Binary:
		s := l.Str
		v.k = kStr
		if l.Type.ID == sqlsubset.Binary {
			s, v.k = string(l.Bytes), kBin
		}
		v.s = make([]string, n)
		for i := range n {
			v.s[i] = s
		}
	case sqlsubset.Date32:
		v.k, v.i, v.unit = kTime, fillI(n, l.Int), dayNanos
	case sqlsubset.Timestamp:
		u, ok := litUnitNanos[l.Type.Unit]
		if !ok {
			return nil, fmt.Errorf("enforce: bad timestamp unit %q", l.Type.Unit)
		}
		v.k, v.i, v.unit, v.zoned = kTime, fillI(n, l.Int), u, l.Type.TZ != ""
	default:
		return nil, fmt.Errorf("enforce: unsupported literal type %s", l.Type)
	}
	return v, nil
}

func fillI(n int, x int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = x
	}
	return s
}

// compiled is a checked expression ready to evaluate.
type compiled struct {
	expr  sqlsubset.Expr
	likes map[*sqlsubset.Like]*sqlsubset.LikeMatcher
	// lenient makes a CAST that fails on a row NULL for that row instead
	// of an error. Policy filters (row and cell filters) are lenient: they
	// run on rows the user may not see, and an error would tell them such
	// rows exist; NULL excludes the row (or hides the cell), fail closed.
	// The user's own WHERE is strict: a failure there is the user's error.
	lenient bool
}

// compileFilter compiles a policy filter (lenient casts).
func compileFilter(e sqlsubset.Expr) (*compiled, error) {
	c, err := compile(e)
	if c != nil {
		c.lenient = true
	}
	return c, err
}

// compile checks that every node of e is supported, fail closed.
func compile(e sqlsubset.Expr) (*compiled, error) {
	if err := sqlsubset.Validate(e); err != nil {
		return nil, err
	}
	c := &compiled{expr: e, likes: map[*sqlsubset.Like]*sqlsubset.LikeMatcher{}}
	var err error
	sqlsubset.Walk(e, func(x sqlsubset.Expr) bool {
		if err != nil {
			return false
		}
		switch x := x.(type) {
		case *sqlsubset.Column:
		case *sqlsubset.Literal:
			if x.Type.ID == sqlsubset.Struct || x.Type.ID == sqlsubset.List {
				err = fmt.Errorf("enforce: unsupported literal %s", x)
			}
		case *sqlsubset.Compare, *sqlsubset.And, *sqlsubset.Or, *sqlsubset.Not,
			*sqlsubset.In, *sqlsubset.Between, *sqlsubset.IsNull, *sqlsubset.IsBool:
		case *sqlsubset.Like:
			var m *sqlsubset.LikeMatcher
			m, err = sqlsubset.CompileLike(x.Pattern, x.CaseInsensitive)
			c.likes[x] = m
		case *sqlsubset.Cast:
			switch {
			case x.Type.IsNumeric(), x.Type.ID == sqlsubset.String:
			case x.Type.ID == sqlsubset.Bool, x.Type.ID == sqlsubset.Binary, x.Type.ID == sqlsubset.Date32, x.Type.ID == sqlsubset.Timestamp:
				// only CAST to the value's own type (cast refuses the rest)
			default:
				err = fmt.Errorf("enforce: unsupported cast %s", x)
			}
		default:
			err = fmt.Errorf("enforce: unsupported expression %s", x)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// eval evaluates the expression over n rows; the result of a predicate is a kBool vec.
func (c *compiled) evalBool(n int, get getCol) (*vec, error) {
	v, err := c.eval(c.expr, n, get)
	if err != nil {
		return nil, err
	}
	if v.k == kNull {
		return newBoolVec(n), nil
	}
	if v.k != kBool {
		return nil, fmt.Errorf("enforce: expression is not boolean")
	}
	return v, nil
}

func (c *compiled) eval(e sqlsubset.Expr, n int, get getCol) (*vec, error) {
	switch e := e.(type) {
	case *sqlsubset.Column:
		a, err := get(e.Name)
		if err != nil {
			return nil, err
		}
		if len(e.Path) == 0 {
			return loadArray(a)
		}
		f, parents, err := fieldArray(a, e.Name, e.Path)
		if err != nil {
			return nil, err
		}
		v, err := loadArray(f)
		if err != nil {
			return nil, err
		}
		for i := range v.valid {
			v.valid[i] = v.valid[i] && parents[i]
		}
		return v, nil
	case *sqlsubset.Literal:
		return literalVec(e, n)
	case *sqlsubset.Compare:
		l, err := c.eval(e.Left, n, get)
		if err != nil {
			return nil, err
		}
		r, err := c.eval(e.Right, n, get)
		if err != nil {
			return nil, err
		}
		return compare(e.Op, l, r)
	case *sqlsubset.And, *sqlsubset.Or:
		args, isAnd := andOr(e)
		var acc *vec
		for _, a := range args {
			v, err := c.evalB(a, n, get)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = v
			} else {
				acc = kleene(acc, v, isAnd)
			}
		}
		return acc, nil
	case *sqlsubset.Not:
		v, err := c.evalB(e.Arg, n, get)
		if err != nil {
			return nil, err
		}
		return not(v), nil
	case *sqlsubset.IsNull:
		v, err := c.eval(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		out := newBoolVec(n)
		for i := range n {
			out.valid[i], out.b[i] = true, v.valid[i] == e.Not
		}
		return out, nil
	case *sqlsubset.IsBool:
		v, err := c.evalB(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		out := newBoolVec(n)
		for i := range n {
			is := v.valid[i] && v.b[i] == e.Value
			out.valid[i], out.b[i] = true, is != e.Not
		}
		return out, nil
	case *sqlsubset.Between:
		x, err := c.eval(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		lo, err := c.eval(e.Low, n, get)
		if err != nil {
			return nil, err
		}
		hi, err := c.eval(e.High, n, get)
		if err != nil {
			return nil, err
		}
		a, err := compare(sqlsubset.Ge, x, lo)
		if err != nil {
			return nil, err
		}
		b, err := compare(sqlsubset.Le, x, hi)
		if err != nil {
			return nil, err
		}
		out := kleene(a, b, true)
		if e.Not {
			out = not(out)
		}
		return out, nil
	case *sqlsubset.In:
		x, err := c.eval(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		acc := newBoolVec(n)
		for i := range n {
			acc.valid[i] = true // FALSE for an empty list
		}
		for _, l := range e.List {
			lv, err := literalVec(l, n)
			if err != nil {
				return nil, err
			}
			eq, err := compare(sqlsubset.Eq, x, lv)
			if err != nil {
				return nil, err
			}
			acc = kleene(acc, eq, false)
		}
		if e.Not {
			acc = not(acc)
		}
		return acc, nil
	case *sqlsubset.Like:
		x, err := c.eval(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		if x.k == kNull {
			return newBoolVec(n), nil
		}
		if x.k != kStr {
			return nil, fmt.Errorf("enforce: LIKE needs a string operand")
		}
		m := c.likes[e]
		out := newBoolVec(n)
		for i := range n {
			if x.valid[i] {
				out.valid[i], out.b[i] = true, m.Match(x.s[i]) != e.Not
			}
		}
		return out, nil
	case *sqlsubset.Cast:
		x, err := c.eval(e.Expr, n, get)
		if err != nil {
			return nil, err
		}
		return cast(x, e.Type, c.lenient)
	}
	return nil, fmt.Errorf("enforce: unsupported expression %s", e)
}

func (c *compiled) evalB(e sqlsubset.Expr, n int, get getCol) (*vec, error) {
	v, err := c.eval(e, n, get)
	if err != nil {
		return nil, err
	}
	switch v.k {
	case kNull:
		return newBoolVec(n), nil
	case kBool:
		return v, nil
	}
	return nil, fmt.Errorf("enforce: %s is not boolean", e)
}

func andOr(e sqlsubset.Expr) ([]sqlsubset.Expr, bool) {
	if a, ok := e.(*sqlsubset.And); ok {
		return a.Args, true
	}
	return e.(*sqlsubset.Or).Args, false
}

// kleene combines a and b with SQL three-valued AND (isAnd) or OR.
func kleene(a, b *vec, isAnd bool) *vec {
	n := len(a.valid)
	out := newBoolVec(n)
	for i := range n {
		av, bv := a.valid[i], b.valid[i]
		ab, bb := a.b[i] && av, b.b[i] && bv
		if isAnd {
			switch {
			case (av && !a.b[i]) || (bv && !b.b[i]):
				out.valid[i], out.b[i] = true, false
			case av && bv:
				out.valid[i], out.b[i] = true, true
			}
		} else {
			switch {
			case ab || bb:
				out.valid[i], out.b[i] = true, true
			case av && bv:
				out.valid[i], out.b[i] = true, false
			}
		}
	}
	return out
}

func not(v *vec) *vec {
	out := newBoolVec(len(v.valid))
	for i := range v.valid {
		out.valid[i], out.b[i] = v.valid[i], v.valid[i] && !v.b[i]
	}
	return out
}

func numeric(k kind) bool { return k == kInt || k == kUint || k == kFloat || k == kDec }

// compare evaluates l op r element-wise; a NULL operand gives NULL.
func compare(op sqlsubset.CompareOp, l, r *vec) (*vec, error) {
	n := len(l.valid)
	out := newBoolVec(n)
	if l.k == kNull || r.k == kNull {
		return out, nil
	}
	var cmp func(i int) int
	switch {
	case l.k == kBool && r.k == kBool:
		cmp = func(i int) int { return b2i(l.b[i]) - b2i(r.b[i]) }
	case (l.k == kStr && r.k == kStr) || (l.k == kBin && r.k == kBin):
		cmp = func(i int) int { return sqlsubset.CompareText(l.s[i], r.s[i]) }
	case l.k == kTime && r.k == kTime:
		if l.zoned != r.zoned {
			// Not comparable (sqlsubset.TemporalComparable): the checker
			// refuses it, and so does the agent, fail closed.
			return nil, fmt.Errorf("enforce: cannot compare a timestamp with a time zone with a timestamp without one or a date")
		}
		if l.unit == r.unit {
			cmp = func(i int) int { return cmp3(l.i[i], r.i[i]) }
		} else {
			lu, ru := big.NewInt(l.unit), big.NewInt(r.unit)
			cmp = func(i int) int {
				a := new(big.Int).Mul(big.NewInt(l.i[i]), lu)
				return a.Cmp(new(big.Int).Mul(big.NewInt(r.i[i]), ru))
			}
		}
	case numeric(l.k) && numeric(r.k):
		cmp = numCmp(l, r)
	default:
		return nil, fmt.Errorf("enforce: cannot compare these operand types")
	}
	switch op {
	case sqlsubset.Eq, sqlsubset.Ne, sqlsubset.Lt, sqlsubset.Le, sqlsubset.Gt, sqlsubset.Ge:
	default:
		return nil, fmt.Errorf("enforce: unknown operator %q", op)
	}
	for i := range n {
		if !l.valid[i] || !r.valid[i] {
			continue
		}
		out.valid[i], out.b[i] = true, op.Holds(cmp(i))
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmp3[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// numCmp compares numbers of any two numeric kinds. A float on either side
// compares as float64; otherwise exactly (big.Rat for decimals).
func numCmp(l, r *vec) func(int) int {
	switch {
	case l.k == kInt && r.k == kInt:
		return func(i int) int { return cmp3(l.i[i], r.i[i]) }
	case l.k == kUint && r.k == kUint:
		return func(i int) int { return cmp3(l.u[i], r.u[i]) }
	case l.k == kFloat || r.k == kFloat:
		// As sqlsubset.CompareLiterals: the other side as float64, NaN
		// greatest and equal to itself.
		lf, rf := floats(l), floats(r)
		return func(i int) int { return sqlsubset.CompareFloat(lf[i], rf[i]) }
	case l.k == kDec && r.k == kDec && l.scale == r.scale:
		return func(i int) int { return l.d[i].Cmp(r.d[i]) }
	}
	return func(i int) int { return asRat(l, i).Cmp(asRat(r, i)) }
}

// floats converts v to float64 once per batch (asFloat per value). A
// literal's decimal is one shared *big.Int, converted once, not per row.
func floats(v *vec) []float64 {
	if v.k == kFloat {
		return v.f
	}
	out := make([]float64, len(v.valid))
	var last *big.Int
	var lastF float64
	for i := range out {
		if !v.valid[i] {
			continue
		}
		if v.k == kDec {
			if v.d[i] != last {
				last, lastF = v.d[i], asFloat(v, i)
			}
			out[i] = lastF
			continue
		}
		out[i] = asFloat(v, i)
	}
	return out
}

func asFloat(v *vec, i int) float64 {
	switch v.k {
	case kInt:
		return float64(v.i[i])
	case kUint:
		return float64(v.u[i])
	case kDec:
		f, _ := asRat(v, i).Float64()
		return f
	}
	return v.f[i]
}

func asRat(v *vec, i int) *big.Rat {
	switch v.k {
	case kInt:
		return new(big.Rat).SetInt64(v.i[i])
	case kUint:
		return new(big.Rat).SetUint64(v.u[i])
	case kDec:
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(v.scale)), nil)
		return new(big.Rat).SetFrac(v.d[i], den)
	}
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(v.f[i], 'g', -1, 64))
	return r
}

// cast converts x to t: numeric to numeric, or numeric, string, bool and
// date to string. Anything else, and a value out of the target's range, is
// an error (fail closed).
func cast(x *vec, t sqlsubset.Type, lenient bool) (*vec, error) {
	n := len(x.valid)
	if x.k == kNull {
		return x, nil
	}
	out := &vec{valid: append([]bool(nil), x.valid...)}
	switch {
	case t.ID == sqlsubset.Bool && x.k == kBool, t.ID == sqlsubset.Binary && x.k == kBin,
		t.ID == sqlsubset.Date32 && x.k == kTime && x.unit == dayNanos,
		t.ID == sqlsubset.Timestamp && x.k == kTime && x.unit != dayNanos && x.unit == litUnitNanos[t.Unit] && x.zoned == (t.TZ != ""):
		return x, nil // a stored filter may spell out the value's own type
	case t.ID == sqlsubset.Bool, t.ID == sqlsubset.Binary, t.ID == sqlsubset.Date32, t.ID == sqlsubset.Timestamp:
		return nil, fmt.Errorf("enforce: unsupported cast to %s", t)
	case t.ID == sqlsubset.String:
		out.k, out.s = kStr, make([]string, n)
		for i := range n {
			if !x.valid[i] {
				continue
			}
			switch x.k {
			case kStr:
				out.s[i] = x.s[i]
			case kBool:
				out.s[i] = strconv.FormatBool(x.b[i])
			case kInt:
				out.s[i] = strconv.FormatInt(x.i[i], 10)
			case kUint:
				out.s[i] = strconv.FormatUint(x.u[i], 10)
			case kFloat:
				out.s[i] = strconv.FormatFloat(x.f[i], 'g', -1, 64)
			case kDec:
				out.s[i] = sqlsubset.FormatDecimal(x.d[i].String(), x.scale)
			case kTime:
				if x.unit != dayNanos {
					return nil, fmt.Errorf("enforce: unsupported cast of timestamp to string")
				}
				out.s[i] = sqlsubset.FormatDate(int32(x.i[i]))
			default:
				return nil, fmt.Errorf("enforce: unsupported cast to string")
			}
		}
		return out, nil
	case !numeric(x.k):
		return nil, fmt.Errorf("enforce: unsupported cast to %s", t)
	case t.ID == sqlsubset.Float32 || t.ID == sqlsubset.Float64:
		out.k, out.f = kFloat, make([]float64, n)
		for i := range n {
			if x.valid[i] {
				out.f[i] = asFloat(x, i)
				if t.ID == sqlsubset.Float32 {
					out.f[i] = float64(float32(out.f[i]))
				}
			}
		}
		return out, nil
	case t.ID == sqlsubset.Decimal128:
		if x.k == kFloat {
			return nil, fmt.Errorf("enforce: unsupported cast of float to decimal")
		}
		out.k, out.d, out.scale = kDec, make([]*big.Int, n), t.Scale
		limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Precision)), nil)
		for i := range n {
			if !x.valid[i] {
				continue
			}
			r := asRat(x, i)
			r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil)))
			v := roundRat(r)
			if new(big.Int).Abs(v).Cmp(limit) >= 0 {
				if lenient {
					out.valid[i] = false
					continue
				}
				return nil, outOfRange(t)
			}
			out.d[i] = v
		}
		return out, nil
	case t.IsInteger():
		lo, hi := intRange(t.ID)
		for i := range n {
			if !x.valid[i] {
				continue
			}
			if x.k == kFloat && (math.IsNaN(x.f[i]) || math.IsInf(x.f[i], 0)) {
				if lenient {
					out.valid[i] = false
					continue
				}
				return nil, outOfRange(t)
			}
			v := roundRat(asRat(x, i))
			if v.Cmp(lo) < 0 || v.Cmp(hi) > 0 {
				if lenient {
					out.valid[i] = false
					continue
				}
				return nil, outOfRange(t)
			}
			if t.ID >= sqlsubset.Uint8 && t.ID <= sqlsubset.Uint64 {
				if out.u == nil {
					out.k, out.u = kUint, make([]uint64, n)
				}
				out.u[i] = v.Uint64()
			} else {
				if out.i == nil {
					out.k, out.i = kInt, make([]int64, n)
				}
				out.i[i] = v.Int64()
			}
		}
		if out.u == nil && out.i == nil {
			out.k, out.i = kInt, make([]int64, n)
			if t.ID >= sqlsubset.Uint8 && t.ID <= sqlsubset.Uint64 {
				out.k, out.i, out.u = kUint, nil, make([]uint64, n)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("enforce: unsupported cast to %s", t)
}

// outOfRange is a CAST that a value does not fit: the query's mistake, so
// InvalidArgument, naming the type and not the value.
func outOfRange(t sqlsubset.Type) error {
	return apierr.New(apierr.InvalidArgument, "CAST to %s: a value is out of range for the type", t)
}

// roundRat rounds half away from zero.
func roundRat(r *big.Rat) *big.Int {
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return q
}

func intRange(id sqlsubset.TypeID) (*big.Int, *big.Int) {
	switch id {
	case sqlsubset.Int8:
		return big.NewInt(math.MinInt8), big.NewInt(math.MaxInt8)
	case sqlsubset.Int16:
		return big.NewInt(math.MinInt16), big.NewInt(math.MaxInt16)
	case sqlsubset.Int32:
		return big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)
	case sqlsubset.Int64:
		return big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	case sqlsubset.Uint8:
		return big.NewInt(0), big.NewInt(math.MaxUint8)
	case sqlsubset.Uint16:
		return big.NewInt(0), big.NewInt(math.MaxUint16)
	case sqlsubset.Uint32:
		return big.NewInt(0), big.NewInt(math.MaxUint32)
	}
	return big.NewInt(0), new(big.Int).SetUint64(math.MaxUint64)
}
