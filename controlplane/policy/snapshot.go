package policy

import (
	"strings"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// Principal kinds.
const (
	KindUser  = "user"
	KindGroup = "group"
	KindRole  = "role"
)

// Scope kinds of a grant.
const (
	ScopeCatalog  = "catalog"
	ScopeDatabase = "database"
	ScopeTable    = "table"
)

// CatalogAdminRole is the role whose holders bypass all policy (see
// Evaluate).
const CatalogAdminRole = "catalog_admin"

// Ref names a principal: a user, a group or a role.
type Ref struct {
	Kind string // KindUser, KindGroup or KindRole
	Name string
}

// UserRef, GroupRef and RoleRef build a Ref of the named kind.
func UserRef(name string) Ref  { return Ref{Kind: KindUser, Name: name} }
func GroupRef(name string) Ref { return Ref{Kind: KindGroup, Name: name} }
func RoleRef(name string) Ref  { return Ref{Kind: KindRole, Name: name} }

// String renders the ref as "role analyst".
func (r Ref) String() string { return r.Kind + " " + r.Name }

// Snapshot is one consistent view of the catalog and the policy, as of
// Version. The evaluator only reads it; it must not be modified while an
// Engine compiled from it is in use.
type Snapshot struct {
	// Version is the store's global policy version; it becomes
	// Effective.PolicyVersion and enters the hash.
	Version int64
	// Attributes maps a user name to that user's attributes (key -> value),
	// read by user_attribute('key').
	Attributes map[string]map[string]string
	// Memberships are the edges of the principal graph: a user or group in a
	// group, a user, group or role in a role. Other shapes are ignored.
	Memberships []Membership
	// Tables maps "db.table" to the table. Table.Database and Table.Name
	// should be set; when both are empty they are taken from the key, split
	// at its first dot.
	Tables map[string]Table
	// Grants are the privilege grants. Only SELECT grants matter here.
	Grants []Grant
	// Masks are the column masks.
	Masks []ColumnMask
	// Unmasks are the UNMASK privileges.
	Unmasks []Unmask
	// TagPolicies mask columns by tag.
	TagPolicies []TagPolicy
	// Safeguards are the policies that apply to everyone but catalog admins.
	Safeguards []Safeguard
}

// Membership says that Member belongs to Parent: a user or group in a group,
// or a user, group or role in a role (a role "granted to" the member).
type Membership struct {
	Member Ref
	Parent Ref
}

// Table is a catalog table and its columns in table order.
type Table struct {
	Database string
	Name     string
	Columns  []Column
}

// Column is one column of a table with the tags attached to it.
type Column struct {
	Name string
	Type sqlsubset.Type
	Tags []string
}

// Scope is what a grant covers: the whole catalog, one database or one
// table.
type Scope struct {
	Kind     string // ScopeCatalog, ScopeDatabase or ScopeTable
	Database string // for ScopeDatabase and ScopeTable
	Table    string // for ScopeTable
}

// Grant gives Principal read access to the tables in Scope: the Columns
// (nil means every column; an empty, non-nil list means none) of the rows
// that Filter admits (nil means every row).
type Grant struct {
	ID        string
	Principal Ref
	// Privilege is the granted privilege. "SELECT", "ALL" and "" (for an
	// adapter that passes SELECT grants only) are read grants; other
	// privileges are ignored by the evaluator. Case does not matter.
	Privilege string
	Scope     Scope
	Columns   []string
	// Filter is the row filter as a tree; it may call the policy functions
	// current_user(), has_role('r') and user_attribute('k').
	Filter sqlsubset.Expr
	// FilterSQL is the filter as the administrator wrote it, for
	// explanations. When empty, Filter.String() is shown instead.
	FilterSQL string
}

// isSelect reports whether the grant gives SELECT.
func (g *Grant) isSelect() bool {
	switch strings.ToUpper(g.Privilege) {
	case "", "SELECT", "ALL":
		return true
	}
	return false
}

// ColumnMask masks one column for Principal (nil: for everyone).
type ColumnMask struct {
	ID        string
	Database  string
	Table     string
	Column    string
	Principal *Ref
	Mask      sqlsubset.Mask
}

// Unmask is the UNMASK privilege: on one column (Database, Table, Column) it
// lifts the column masks and tag policies of that column; on a tag pattern
// (Tag) it lifts tag policies (see TagPolicy). It never lifts a safeguard.
// An Unmask may set both forms; each then applies.
type Unmask struct {
	ID        string
	Principal Ref
	Database  string
	Table     string
	Column    string
	Tag       string // a tag pattern
}

// TagPolicy masks every column carrying a tag that TagPattern matches. It
// is lifted for a user who holds UNMASK on a tag pattern that matches
// UnlessUnmaskTag or, when UnlessUnmaskTag is empty, matches the column's tag
// that the policy matched.
type TagPolicy struct {
	Name            string
	TagPattern      string
	Mask            sqlsubset.Mask
	UnlessUnmaskTag string
}

// Safeguard applies to everyone but catalog admins and cannot be lifted:
// with TagPattern it masks every column carrying a matching tag with Mask;
// with Database and Table it ANDs Filter to that table's row filter. A
// safeguard may do both.
type Safeguard struct {
	Name       string
	TagPattern string
	Mask       sqlsubset.Mask
	Database   string
	Table      string
	Filter     sqlsubset.Expr
	FilterSQL  string
}
