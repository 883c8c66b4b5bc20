package policy

import (
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Expression builders for hand-written filters.

func col(name string) sqlsubset.Expr  { return &sqlsubset.Column{Name: name} }
func str(s string) *sqlsubset.Literal { return sqlsubset.StringLiteral(s) }
func i64(v int64) *sqlsubset.Literal  { return sqlsubset.Int64Literal(v) }
func eq(a, b sqlsubset.Expr) sqlsubset.Expr {
	return &sqlsubset.Compare{Op: sqlsubset.Eq, Left: a, Right: b}
}
func ge(a, b sqlsubset.Expr) sqlsubset.Expr {
	return &sqlsubset.Compare{Op: sqlsubset.Ge, Left: a, Right: b}
}
func or(args ...sqlsubset.Expr) sqlsubset.Expr  { return &sqlsubset.Or{Args: args} }
func and(args ...sqlsubset.Expr) sqlsubset.Expr { return &sqlsubset.And{Args: args} }
func not(a sqlsubset.Expr) sqlsubset.Expr       { return &sqlsubset.Not{Arg: a} }
func call(name string, args ...sqlsubset.Expr) sqlsubset.Expr {
	return &sqlsubset.Call{Name: name, Args: args}
}
func isNull(e sqlsubset.Expr) sqlsubset.Expr { return &sqlsubset.IsNull{Expr: e} }
func inList(e sqlsubset.Expr, l ...*sqlsubset.Literal) sqlsubset.Expr {
	return &sqlsubset.In{Expr: e, List: l}
}
func likeExpr(e sqlsubset.Expr, pattern string) sqlsubset.Expr {
	return &sqlsubset.Like{Expr: e, Pattern: pattern}
}
func callsIn(e sqlsubset.Expr) []*sqlsubset.Call { return sqlsubset.Calls(e) }
func attr(k string) sqlsubset.Expr               { return call("user_attribute", str(k)) }
func hasRole(r string) sqlsubset.Expr            { return call("has_role", str(r)) }
func curUser() sqlsubset.Expr                    { return call("current_user") }

func mask(f string, args ...int64) sqlsubset.Mask { return sqlsubset.Mask{Func: f, Args: args} }

var (
	regionEU = eq(col("region"), str("EU"))
	regionUS = eq(col("region"), str("US"))
	notTest  = not(col("is_test"))
)

// Grant builders: table, database and catalog scope.

func tg(id string, p Ref, table string, cols []string, filter sqlsubset.Expr) Grant {
	db, t := splitKey(table)
	return Grant{ID: id, Principal: p, Privilege: "SELECT", Scope: Scope{Kind: ScopeTable, Database: db, Table: t},
		Columns: cols, Filter: filter}
}

func dg(id string, p Ref, db string, cols []string, filter sqlsubset.Expr) Grant {
	return Grant{ID: id, Principal: p, Privilege: "SELECT", Scope: Scope{Kind: ScopeDatabase, Database: db},
		Columns: cols, Filter: filter}
}

func cg(id string, p Ref, cols []string, filter sqlsubset.Expr) Grant {
	return Grant{ID: id, Principal: p, Privilege: "SELECT", Scope: Scope{Kind: ScopeCatalog}, Columns: cols, Filter: filter}
}

func cm(id, table, column string, p *Ref, m sqlsubset.Mask) ColumnMask {
	db, t := splitKey(table)
	return ColumnMask{ID: id, Database: db, Table: t, Column: column, Principal: p, Mask: m}
}

func colUnmask(id string, p Ref, table, column string) Unmask {
	db, t := splitKey(table)
	return Unmask{ID: id, Principal: p, Database: db, Table: t, Column: column}
}

func tagUnmask(id string, p Ref, tag string) Unmask {
	return Unmask{ID: id, Principal: p, Tag: tag}
}

func ref(r Ref) *Ref { return &r }

func cols(c ...string) []string { return c }

func splitKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

var (
	tInt64  = sqlsubset.Type{ID: sqlsubset.Int64}
	tString = sqlsubset.Type{ID: sqlsubset.String}
	tFloat  = sqlsubset.Type{ID: sqlsubset.Float64}
	tDate   = sqlsubset.Type{ID: sqlsubset.Date32}
	tBool   = sqlsubset.Type{ID: sqlsubset.Bool}
	tTS     = sqlsubset.TimestampType(sqlsubset.Micro, "")
)

// fixture is the snapshot every evaluation case starts from: tables,
// principals and attributes, but no grant, mask or policy.
//
// Principals:
//
//	alice  in group eu_analysts, which is in group analysts; analysts has role analyst
//	bob    in group us_analysts, which is in group analysts
//	carol  has role auditor directly
//	frank  in group data_eng; data_eng has role engineer; engineer has role
//	       reader; reader has role base_reader
//	erin   in group platform, which has role catalog_admin
//	gina   in group c1; c1 in c2; c2 in c1 (a cycle); c2 has role r1; r1 has
//	       r2; r2 has r1 (a cycle)
//	henry  no membership
//
// Attributes: alice region=EU level=3; bob region=US; frank region=EU
// since=2024-01-01; gina since=yesterday (not a timestamp).
func fixture() *Snapshot {
	return &Snapshot{
		Version: 7,
		Attributes: map[string]map[string]string{
			"alice": {"region": "EU", "level": "3"},
			"bob":   {"region": "US"},
			"frank": {"region": "EU", "since": "2024-01-01"},
			"gina":  {"since": "yesterday"},
		},
		Memberships: []Membership{
			{UserRef("alice"), GroupRef("eu_analysts")},
			{GroupRef("eu_analysts"), GroupRef("analysts")},
			{GroupRef("analysts"), RoleRef("analyst")},
			{UserRef("bob"), GroupRef("us_analysts")},
			{GroupRef("us_analysts"), GroupRef("analysts")},
			{UserRef("carol"), RoleRef("auditor")},
			{UserRef("frank"), GroupRef("data_eng")},
			{GroupRef("data_eng"), RoleRef("engineer")},
			{RoleRef("engineer"), RoleRef("reader")},
			{RoleRef("reader"), RoleRef("base_reader")},
			{UserRef("erin"), GroupRef("platform")},
			{GroupRef("platform"), RoleRef(CatalogAdminRole)},
			{UserRef("gina"), GroupRef("c1")},
			{GroupRef("c1"), GroupRef("c2")},
			{GroupRef("c2"), GroupRef("c1")},
			{GroupRef("c2"), RoleRef("r1")},
			{RoleRef("r1"), RoleRef("r2")},
			{RoleRef("r2"), RoleRef("r1")},
			// Shapes the store refuses; the evaluator ignores them.
			{RoleRef("analyst"), GroupRef("hidden")},    // a role in a group
			{GroupRef("eu_analysts"), UserRef("henry")}, // anything in a user
		},
		Tables: map[string]Table{
			"sales.orders": {Database: "sales", Name: "orders", Columns: []Column{
				{Name: "id", Type: tInt64},
				{Name: "region", Type: tString},
				{Name: "owner", Type: tString},
				{Name: "email", Type: tString, Tags: []string{"pii.email"}},
				{Name: "phone", Type: tString, Tags: []string{"pii.phone", "contact.phone"}},
				{Name: "card", Type: tString, Tags: []string{"pii.card.number"}},
				{Name: "amount", Type: tFloat, Tags: []string{"finance.amount"}},
				{Name: "created", Type: tDate},
				{Name: "is_test", Type: tBool},
			}},
			"sales.customers": {Database: "sales", Name: "customers", Columns: []Column{
				{Name: "id", Type: tInt64},
				{Name: "name", Type: tString, Tags: []string{"pii.name"}},
				{Name: "country", Type: tString},
			}},
			"hr.employees": {Database: "hr", Name: "employees", Columns: []Column{
				{Name: "id", Type: tInt64},
				{Name: "name", Type: tString, Tags: []string{"pii.name"}},
				{Name: "salary", Type: tInt64, Tags: []string{"finance.salary"}},
				{Name: "dept", Type: tString},
				{Name: "hired", Type: tTS},
			}},
		},
	}
}

// allOrders are the columns of sales.orders, unmasked.
var allOrders = []string{"id", "region", "owner", "email", "phone", "card", "amount", "created", "is_test"}
