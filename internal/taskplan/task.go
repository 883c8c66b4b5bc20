// Package taskplan holds the signed read task that the control plane hands to
// an agent: the wire types, their one canonical encoding, Ed25519 signing and
// verification of tickets, and optional AES-256-GCM sealing of tickets that
// carry pre-signed URLs.
//
// A ticket is the compact envelope
//
//	nst1.<key id>.<base64url(payload)>.<base64url(signature)>
//
// where payload is Canonical(task) and the signature is Ed25519 over exactly
// the payload bytes. The key id sits in the envelope so that a verifier picks
// the key without parsing unauthenticated JSON; the payload repeats it
// (Task.KeyID) and Verify requires the two to agree. base64url is unpadded
// and strict, so one task has exactly one ticket per key.
//
// Error codes returned by Verify (all *apierr.Error, none echoes the ticket):
//
//	InvalidArgument   "malformed ticket"             not a ticket: size, prefix, parts, base64
//	InvalidArgument   "unsupported ticket version"   nstN with N != 1, or a signed payload of another version
//	PermissionDenied  "ticket signature invalid"     unknown key id, bad signature, key id mismatch
//	Unauthenticated   "ticket expired"               now >= ExpiresAt + skew: plan again
//	Unauthenticated   "ticket not yet valid"         IssuedAt > now + skew
//	PermissionDenied  "ticket issued to another principal"
//	InvalidArgument   "malformed ticket payload: ..."   signed, but not a strict canonical task (a signer bug)
//
// Open returns InvalidArgument "malformed ticket" for input that is not a
// sealed ticket and PermissionDenied "sealed ticket invalid" when
// authentication fails (tampering or the wrong key).
//
// Expiry and not-yet-valid are Unauthenticated because, like an expired
// token, the remedy is to obtain a fresh ticket; everything that suggests
// forgery or replay is PermissionDenied.
package taskplan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Version is the wire version of Task that this package writes and reads.
const Version = 1

// Bounds on what a ticket may hold.
const (
	MaxTicketBytes = 16 << 20  // a ticket (or sealed ticket) longer than this is refused
	MaxObjects     = 1_000_000 // objects per task
	MaxColumns     = 100_000   // columns per task
	MaxGroups      = 1000      // credential groups per task
	MaxRanges      = 100_000   // ranges per object
)

// Formats lists the object formats a task may name.
var Formats = []string{"parquet", "csv", "json"}

// Task tells an agent exactly what to read and how to enforce policy on it.
type Task struct {
	Version   int    // wire version; 0 means Version when signing
	ID        string // unique task id
	QueryID   string
	Principal string // the end user the task was planned for
	// Groups are the groups the user's credential vouched for at planning
	// (an OIDC token's groups claim), so that re-evaluating the policy
	// when URLs are signed sees the same principal.
	Groups []string
	// Agent, when set, is the only agent (enrolled id) that may run the
	// task: the one that planned it, so user code cannot carry the ticket
	// to another node.
	Agent string
	// SingleUse tickets run once per agent: a second DoGet of the same
	// task id is refused.
	SingleUse     bool
	Table         string // "db.table"
	Format        string // parquet | csv | json
	FormatOptions map[string]string
	Objects       []Object
	// PartitionColumns maps the table's partition columns to their catalog
	// types, so that the agent can type each object's Partition values.
	PartitionColumns map[string]string
	Location         string         // table location: s3://bucket/prefix/ or file:///dir/
	Columns          []Column       // projected output columns, in order
	RowFilter        sqlsubset.Tree // policy row filter on unmasked values; nil Expr = all rows
	Predicate        sqlsubset.Tree // the user's WHERE, evaluated after masks; nil Expr = all rows
	Limit            int64          // 0 = none
	PolicyVersion    int64
	PolicyHash       string // hash of the user's effective rules on the table (policy.Effective.RulesHash)
	IssuedAt         time.Time
	ExpiresAt        time.Time
	KeyID            string // signing key id; set by Signer.Sign
}

// Object is one object (file) to read.
type Object struct {
	Path      string  // relative to the table location, or the object key
	Size      int64   // bytes
	ETag      string  // optional; the agent refuses an object whose ETag differs
	Ranges    []Range // empty = the whole object
	RowGroups []int   // parquet only; empty = all row groups
	// Partition holds the values of the table's partition columns for this
	// object (Hive dt=... directories), which are not stored in the file, as
	// canonical text by the column's type: booleans true/false; integers,
	// decimals (unscaled) and timestamps (in the type's unit since the
	// epoch) in plain digits with an optional '-'; floats in Go's shortest
	// 'g' form; dates YYYY-MM-DD; strings as is. nil is NULL.
	Partition map[string]*string
}

// Range is a byte range of an object.
type Range struct {
	Offset, Length int64
}

// Column is one projected output column.
type Column struct {
	Name       string          // the stored column; expressions refer to it by this name
	As         string          // output name when it differs from Name (a SELECT alias)
	Type       string          // a sqlsubset type string
	Mask       *sqlsubset.Mask // nil = unmasked
	CellFilter sqlsubset.Tree  // nil Expr = always visible; otherwise the cell is NULL where false
	// FilterOnly columns are read, cell-filtered and masked like the others
	// so that the Predicate can use them, and are not returned.
	FilterOnly bool
	// Field, when set, returns only this field path of the struct column
	// Name (after its cell filter and mask); Type stays the column's type.
	// The value is NULL where the struct or a field on the path is NULL.
	Field []string
	// Const, when set, makes this a column of that int64 constant (SELECT 1,
	// Spark's count): nothing is read for it. Name is then a placeholder.
	Const *int64
}

// OutputName is the name the column has in the task's output.
func (c Column) OutputName() string {
	if c.As != "" {
		return c.As
	}
	return c.Name
}

// The wire form. Field order is the encoding order; optional fields are
// omitted when empty so that nil and empty slices and maps encode alike.
type wireTask struct {
	Version       int               `json:"version"`
	ID            string            `json:"id"`
	QueryID       string            `json:"query_id,omitempty"`
	Principal     string            `json:"principal"`
	Groups        []string          `json:"groups,omitempty"`
	Agent         string            `json:"agent,omitempty"`
	SingleUse     bool              `json:"single_use,omitempty"`
	Table         string            `json:"table"`
	Format        string            `json:"format"`
	FormatOptions map[string]string `json:"format_options,omitempty"`
	Objects       []wireObject      `json:"objects,omitempty"`
	PartCols      map[string]string `json:"partition_columns,omitempty"`
	Location      string            `json:"location"`
	Columns       []wireColumn      `json:"columns"`
	RowFilter     sqlsubset.Tree    `json:"row_filter"`
	Predicate     sqlsubset.Tree    `json:"predicate"`
	Limit         int64             `json:"limit,omitempty"`
	PolicyVersion int64             `json:"policy_version"`
	PolicyHash    string            `json:"policy_hash,omitempty"`
	IssuedAt      string            `json:"issued_at"`
	ExpiresAt     string            `json:"expires_at"`
	KeyID         string            `json:"key_id"`
}

type wireObject struct {
	Path      string             `json:"path"`
	Size      int64              `json:"size"`
	ETag      string             `json:"etag,omitempty"`
	Ranges    []wireRange        `json:"ranges,omitempty"`
	RowGroups []int              `json:"row_groups,omitempty"`
	Partition map[string]*string `json:"partition,omitempty"`
}

type wireRange struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

type wireColumn struct {
	Name       string         `json:"name"`
	As         string         `json:"as,omitempty"`
	Type       string         `json:"type"`
	Mask       *wireMask      `json:"mask,omitempty"`
	CellFilter sqlsubset.Tree `json:"cell_filter"`
	FilterOnly bool           `json:"filter_only,omitempty"`
	Field      []string       `json:"field,omitempty"`
	Const      *int64         `json:"const,omitempty"`
}

type wireMask struct {
	Func string  `json:"func"`
	Args []int64 `json:"args,omitempty"`
}

func invalid(format string, args ...any) error {
	return apierr.New(apierr.InvalidArgument, "task: "+format, args...)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Validate checks that t is complete and within bounds. Sign and Verify both
// call it.
func (t Task) Validate() error {
	if t.Version != Version {
		return invalid("unsupported version %d", t.Version)
	}
	for _, f := range []struct{ name, v string }{
		{"id", t.ID}, {"principal", t.Principal}, {"table", t.Table}, {"location", t.Location},
	} {
		if f.v == "" {
			return invalid("%s is required", f.name)
		}
	}
	if !strings.HasPrefix(t.Location, "s3://") && !strings.HasPrefix(t.Location, "file://") {
		return invalid("location must be an s3:// or file:// URL")
	}
	if !validFormat(t.Format) {
		return invalid("format must be one of %s, got %q", strings.Join(Formats, ", "), t.Format)
	}
	if err := checkUTF8(t); err != nil {
		return err
	}
	if len(t.Objects) > MaxObjects {
		return invalid("%d objects exceed the limit of %d", len(t.Objects), MaxObjects)
	}
	for name, typ := range t.PartitionColumns {
		if _, err := sqlsubset.ParseType(typ); err != nil || name == "" {
			return invalid("partition column %q: bad type %q", name, typ)
		}
	}
	for i, o := range t.Objects {
		if err := o.validate(t.Format); err != nil {
			return invalid("object %d: %v", i, err)
		}
		for k := range o.Partition {
			if _, ok := t.PartitionColumns[k]; !ok {
				return invalid("object %d: partition value of %q, which is not a partition column", i, k)
			}
		}
	}
	if len(t.Columns) == 0 {
		return invalid("at least one column is required")
	}
	if len(t.Groups) > MaxGroups {
		return invalid("%d groups exceed the limit of %d", len(t.Groups), MaxGroups)
	}
	if len(t.Columns) > MaxColumns {
		return invalid("%d columns exceed the limit of %d", len(t.Columns), MaxColumns)
	}
	seen := make(map[string]bool, len(t.Columns))
	outputs := make(map[string]bool, len(t.Columns))
	for i, c := range t.Columns {
		if c.Name == "" {
			return invalid("column %d: name is required", i)
		}
		key := strings.Join(append([]string{c.Name}, c.Field...), "\x00")
		if seen[key] {
			return invalid("column %q appears twice", c.Name)
		}
		seen[key] = true
		if c.As == c.Name {
			return invalid("column %q: as must differ from name (leave it empty)", c.Name)
		}
		if !c.FilterOnly {
			if outputs[c.OutputName()] {
				return invalid("output column %q appears twice", c.OutputName())
			}
			outputs[c.OutputName()] = true
		} else if c.As != "" {
			return invalid("column %q: a filter-only column has no output name", c.Name)
		}
		typ, err := sqlsubset.ParseType(c.Type)
		if err != nil {
			return invalid("column %q: %v", c.Name, err)
		}
		if c.Const != nil && (typ.ID != sqlsubset.Int64 || c.Mask != nil || c.CellFilter.Expr != nil || c.FilterOnly || len(c.Field) > 0) {
			return invalid("column %q: a constant column is a plain int64", c.Name)
		}
		if len(c.Field) > 0 {
			if c.FilterOnly {
				return invalid("column %q: a filter-only column has no field path", c.Name)
			}
			if _, err := FieldType(typ, c.Field); err != nil {
				return invalid("column %q: %v", c.Name, err)
			}
		}
		if c.Mask != nil {
			if err := c.Mask.CheckType(typ); err != nil {
				return invalid("column %q: %v", c.Name, err)
			}
		}
	}
	if len(outputs) == 0 {
		return invalid("at least one output column is required")
	}
	if t.Limit < 0 {
		return invalid("limit must not be negative")
	}
	if t.PolicyVersion < 0 {
		return invalid("policy version must not be negative")
	}
	if t.IssuedAt.IsZero() || t.ExpiresAt.IsZero() {
		return invalid("issued_at and expires_at are required")
	}
	if !t.ExpiresAt.After(t.IssuedAt) {
		return invalid("expires_at must be after issued_at")
	}
	if y := t.ExpiresAt.UTC().Year(); y > 9999 || t.IssuedAt.UTC().Year() < 1 {
		return invalid("times must be within years 1..9999")
	}
	return nil
}

func validFormat(f string) bool {
	for _, x := range Formats {
		if f == x {
			return true
		}
	}
	return false
}

// checkUTF8 refuses invalid UTF-8, which encoding/json would silently
// replace, so that a decoded task always equals the signed one.
func checkUTF8(t Task) error {
	strs := []string{t.ID, t.QueryID, t.Principal, t.Table, t.Format, t.Location, t.PolicyHash, t.KeyID}
	strs = append(strs, t.Groups...)
	strs = append(strs, t.Agent)
	for k, v := range t.FormatOptions {
		strs = append(strs, k, v)
	}
	for k, v := range t.PartitionColumns {
		strs = append(strs, k, v)
	}
	for _, c := range t.Columns {
		strs = append(strs, c.Name, c.As, c.Type)
		strs = append(strs, c.Field...)
	}
	for _, o := range t.Objects {
		strs = append(strs, o.Path, o.ETag)
		for k, v := range o.Partition {
			strs = append(strs, k)
			if v != nil {
				strs = append(strs, *v)
			}
		}
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return invalid("strings must be valid UTF-8")
		}
	}
	return nil
}

func (o Object) validate(format string) error {
	if o.Path == "" {
		return fmt.Errorf("path is required")
	}
	if strings.HasPrefix(o.Path, "/") || strings.ContainsRune(o.Path, 0) {
		return fmt.Errorf("path must be relative and free of NUL bytes")
	}
	for _, seg := range strings.Split(o.Path, "/") {
		if seg == ".." {
			return fmt.Errorf("path must not contain '..'")
		}
	}
	if o.Size < 0 {
		return fmt.Errorf("size must not be negative")
	}
	if len(o.Ranges) > MaxRanges {
		return fmt.Errorf("%d ranges exceed the limit of %d", len(o.Ranges), MaxRanges)
	}
	for _, r := range o.Ranges {
		if r.Offset < 0 || r.Length <= 0 || r.Offset > math.MaxInt64-r.Length || r.Offset+r.Length > o.Size {
			return fmt.Errorf("range offset %d length %d is outside the object (size %d)", r.Offset, r.Length, o.Size)
		}
	}
	if len(o.RowGroups) > 0 && format != "parquet" {
		return fmt.Errorf("row groups apply to parquet only")
	}
	for _, g := range o.RowGroups {
		if g < 0 {
			return fmt.Errorf("row group %d is negative", g)
		}
	}
	for k := range o.Partition {
		if k == "" {
			return fmt.Errorf("partition column name is empty")
		}
	}
	return nil
}

// Canonical returns the one encoding of t that a signature covers: JSON with
// a fixed field order, sorted map keys, no whitespace, filter trees in
// sqlsubset's canonical form, times in UTC RFC 3339 with nanoseconds, and
// empty optional fields left out (nil and empty slices and maps encode
// alike). It fails if t is not valid.
func Canonical(t Task) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	w := wireTask{
		Version: t.Version, ID: t.ID, QueryID: t.QueryID, Principal: t.Principal, Groups: t.Groups,
		Agent: t.Agent, SingleUse: t.SingleUse,
		Table: t.Table, Format: t.Format, Location: t.Location,
		RowFilter: t.RowFilter, Predicate: t.Predicate, Limit: t.Limit,
		PolicyVersion: t.PolicyVersion, PolicyHash: t.PolicyHash,
		IssuedAt: formatTime(t.IssuedAt), ExpiresAt: formatTime(t.ExpiresAt), KeyID: t.KeyID,
	}
	if len(t.PartitionColumns) > 0 {
		w.PartCols = t.PartitionColumns
	}
	if len(t.FormatOptions) > 0 {
		w.FormatOptions = t.FormatOptions
	}
	if len(t.Objects) > 0 {
		w.Objects = make([]wireObject, len(t.Objects))
		for i, o := range t.Objects {
			wo := wireObject{Path: o.Path, Size: o.Size, ETag: o.ETag, RowGroups: o.RowGroups, Partition: o.Partition}
			if len(o.Ranges) > 0 {
				wo.Ranges = make([]wireRange, len(o.Ranges))
				for j, r := range o.Ranges {
					wo.Ranges[j] = wireRange(r)
				}
			}
			w.Objects[i] = wo
		}
	}
	w.Columns = make([]wireColumn, len(t.Columns))
	for i, c := range t.Columns {
		wc := wireColumn{Name: c.Name, As: c.As, Type: c.Type, CellFilter: c.CellFilter, FilterOnly: c.FilterOnly, Field: c.Field, Const: c.Const}
		if c.Mask != nil {
			wc.Mask = &wireMask{Func: c.Mask.Func, Args: c.Mask.Args}
		}
		w.Columns[i] = wc
	}
	b, err := json.Marshal(w)
	if err != nil {
		// Trees are the only fallible part; their errors are already classified.
		if apierr.CodeOf(err) == apierr.Internal {
			return nil, invalid("%v", err)
		}
		return nil, err
	}
	return b, nil
}

// decodeTask parses a payload strictly: unknown fields, trailing data, bad
// times and payloads that are not in canonical form are refused, and the
// result is validated.
func decodeTask(payload []byte) (Task, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var w wireTask
	if err := dec.Decode(&w); err != nil {
		return Task{}, invalid("payload: %v", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(payload)) {
		return Task{}, invalid("payload: trailing data")
	}
	if len(w.Objects) > MaxObjects {
		return Task{}, invalid("%d objects exceed the limit of %d", len(w.Objects), MaxObjects)
	}
	t := Task{
		Version: w.Version, ID: w.ID, QueryID: w.QueryID, Principal: w.Principal, Groups: w.Groups,
		Agent: w.Agent, SingleUse: w.SingleUse,
		Table: w.Table, Format: w.Format, FormatOptions: w.FormatOptions, PartitionColumns: w.PartCols, Location: w.Location,
		RowFilter: w.RowFilter, Predicate: w.Predicate, Limit: w.Limit,
		PolicyVersion: w.PolicyVersion, PolicyHash: w.PolicyHash, KeyID: w.KeyID,
	}
	var err error
	if t.IssuedAt, err = time.Parse(time.RFC3339Nano, w.IssuedAt); err != nil {
		return Task{}, invalid("issued_at: not an RFC 3339 time")
	}
	if t.ExpiresAt, err = time.Parse(time.RFC3339Nano, w.ExpiresAt); err != nil {
		return Task{}, invalid("expires_at: not an RFC 3339 time")
	}
	if len(w.Objects) > 0 {
		t.Objects = make([]Object, len(w.Objects))
		for i, o := range w.Objects {
			obj := Object{Path: o.Path, Size: o.Size, ETag: o.ETag, RowGroups: o.RowGroups, Partition: o.Partition}
			if len(o.Ranges) > 0 {
				obj.Ranges = make([]Range, len(o.Ranges))
				for j, r := range o.Ranges {
					obj.Ranges[j] = Range(r)
				}
			}
			t.Objects[i] = obj
		}
	}
	if len(w.Columns) > 0 {
		t.Columns = make([]Column, len(w.Columns))
		for i, c := range w.Columns {
			col := Column{Name: c.Name, As: c.As, Type: c.Type, CellFilter: c.CellFilter, FilterOnly: c.FilterOnly, Field: c.Field, Const: c.Const}
			if c.Mask != nil {
				col.Mask = &sqlsubset.Mask{Func: c.Mask.Func, Args: c.Mask.Args}
			}
			t.Columns[i] = col
		}
	}
	again, err := Canonical(t)
	if err != nil {
		return Task{}, err
	}
	if !bytes.Equal(again, payload) {
		return Task{}, invalid("payload is not in canonical form")
	}
	return t, nil
}

// peekVersion reads only the version of a payload, so that a task of a
// future version is reported as such rather than as malformed.
func peekVersion(payload []byte) (int, bool) {
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return 0, false
	}
	return v.Version, true
}

// FieldType is the type of the field at path inside the struct type t.
func FieldType(t sqlsubset.Type, path []string) (sqlsubset.Type, error) {
	for _, name := range path {
		if t.ID != sqlsubset.Struct {
			return sqlsubset.Type{}, fmt.Errorf("field %q of a %s: only struct fields can be selected", name, t)
		}
		found := false
		for _, f := range t.Fields {
			if f.Name == name {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return sqlsubset.Type{}, fmt.Errorf("no field %q", name)
		}
	}
	return t, nil
}
