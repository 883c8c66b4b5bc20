package sqlsubset

import (
	"sort"
	"strconv"
	"strings"
)

// Mask is a column masking function with its integer arguments, e.g.
// show_last(4) is {Func: "show_last", Args: [4]}. A mask keeps the column's
// type. The functions and the types they apply to:
//
//	null           any type          the value becomes NULL
//	redact         any type          a fixed constant of the column's type ("xxxx", 0, false, epoch, empty)
//	hash           string binary     keyed HMAC-SHA256 (string: 64 hex characters; binary: the digest)
//	tokenize       string binary int a deterministic keyed token of the same type (integers: a keyed permutation)
//	show_first(n)  string            keep the first n characters, the rest become 'x'
//	show_last(n)   string            keep the last n characters, the rest become 'x'
//	email_domain   string            keep '@' and what follows the last '@'; the rest becomes "xxxx"
//	date_year      date32 timestamp  truncate to January 1 of the year
//	round(n)       numeric           round to n digits after the decimal point
//	zero           numeric           the value becomes 0
//
// n is an integer in 0..MaxMaskArg. The agent implements the functions
// (internal/mask, whose docs/masks.md gives the exact outputs); this package
// names them and checks arguments and types, and a test in internal/mask
// keeps the two in step.
type Mask struct {
	Func string
	Args []int64
}

// MaxMaskArg bounds the integer argument of a mask function.
const MaxMaskArg = 1 << 20

type maskFunc struct {
	args    int
	applies func(Type) bool
}

func isStringType(t Type) bool { return t.ID == String }

var maskFuncs = map[string]maskFunc{
	"null":         {0, func(Type) bool { return true }},
	"redact":       {0, func(Type) bool { return true }},
	"hash":         {0, func(t Type) bool { return t.ID == String || t.ID == Binary }},
	"tokenize":     {0, func(t Type) bool { return t.ID == String || t.ID == Binary || t.IsInteger() }},
	"show_first":   {1, isStringType},
	"show_last":    {1, isStringType},
	"email_domain": {0, isStringType},
	"date_year":    {0, Type.IsTemporal},
	"round":        {1, Type.IsNumeric},
	"zero":         {0, Type.IsNumeric},
}

// MaskFunctions lists the mask function names, sorted.
func MaskFunctions() []string {
	out := make([]string, 0, len(maskFuncs))
	for n := range maskFuncs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MaskArity returns the number of arguments of mask function name, and
// whether it exists.
func MaskArity(name string) (int, bool) {
	f, ok := maskFuncs[name]
	return f.args, ok
}

// Validate checks the function name, the number of arguments and their range.
func (m Mask) Validate() error {
	f, ok := maskFuncs[m.Func]
	if !ok {
		return invalid("unknown mask function %s (known: %s)", quoteIdent(m.Func), strings.Join(MaskFunctions(), ", "))
	}
	if len(m.Args) != f.args {
		return invalid("mask function %s takes %d argument(s), got %d", m.Func, f.args, len(m.Args))
	}
	for _, a := range m.Args {
		if a < 0 || a > MaxMaskArg {
			return invalid("argument of mask function %s must be an integer in 0..%d, got %d", m.Func, MaxMaskArg, a)
		}
	}
	return nil
}

// CheckType reports whether m can mask a column of type t.
func (m Mask) CheckType(t Type) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if !maskFuncs[m.Func].applies(t) {
		return invalid("mask function %s does not apply to type %s", m.Func, t)
	}
	return nil
}

// String renders the mask as written in SQL: redact, show_last(4).
func (m Mask) String() string {
	if len(m.Args) == 0 && maskFuncs[m.Func].args == 0 {
		return m.Func
	}
	parts := make([]string, len(m.Args))
	for i, a := range m.Args {
		parts[i] = strconv.FormatInt(a, 10)
	}
	return m.Func + "(" + strings.Join(parts, ", ") + ")"
}
