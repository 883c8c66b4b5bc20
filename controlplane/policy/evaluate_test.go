package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// evalCase is one hand-written evaluation: a snapshot (the fixture plus
// add), a user and a table, and the expected result.
type evalCase struct {
	name  string
	add   func(s *Snapshot)
	user  string
	table string // default sales.orders

	code apierr.Code // expected error code, "" for success
	msg  string      // substring of the expected error message

	admin bool
	// cols describes each visible column, in order: "name", then
	// " mask=<mask> by <source>" and " cell=<sql>" when set.
	cols    []string
	filter  string   // Filter as SQL; "" for nil (all rows)
	sources []string // FilterSources; nil means none
	grants  []string // Effective.Grants; checked when not nil
	absent  []string // checked when not nil
	// colGrants maps a column to its expected grant ids; checked for the
	// columns listed.
	colGrants map[string][]string
}

func describeColumn(c EffColumn) string {
	s := c.Name
	if c.Mask != nil {
		s += " mask=" + c.Mask.String() + " by " + c.MaskSource
	}
	if c.CellFilter != nil {
		s += " cell=" + c.CellFilter.String()
	}
	return s
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			s := fixture()
			if tc.add != nil {
				tc.add(s)
			}
			table := tc.table
			if table == "" {
				table = "sales.orders"
			}
			eff, err := Evaluate(s, tc.user, table)
			if tc.code != "" {
				if err == nil {
					t.Fatalf("want %s error, got success:\n%s", tc.code, eff.Explain())
				}
				if got := apierr.CodeOf(err); got != tc.code {
					t.Fatalf("want code %s, got %s: %v", tc.code, got, err)
				}
				if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("error %q does not contain %q", err.Error(), tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if eff.Admin != tc.admin {
				t.Errorf("Admin = %v, want %v", eff.Admin, tc.admin)
			}
			var got []string
			for _, c := range eff.Columns {
				got = append(got, describeColumn(c))
			}
			if !slices.Equal(got, tc.cols) {
				t.Errorf("columns:\n got  %q\n want %q", got, tc.cols)
			}
			gotFilter := ""
			if eff.Filter != nil {
				gotFilter = eff.Filter.String()
			}
			if gotFilter != tc.filter {
				t.Errorf("filter:\n got  %s\n want %s", gotFilter, tc.filter)
			}
			if !slices.Equal(eff.FilterSources, tc.sources) {
				t.Errorf("filter sources:\n got  %q\n want %q", eff.FilterSources, tc.sources)
			}
			if tc.grants != nil && !slices.Equal(eff.Grants, tc.grants) {
				t.Errorf("grants: got %q, want %q", eff.Grants, tc.grants)
			}
			if tc.absent != nil && !slices.Equal(eff.Absent, tc.absent) {
				t.Errorf("absent: got %q, want %q", eff.Absent, tc.absent)
			}
			for name, want := range tc.colGrants {
				found := false
				for _, c := range eff.Columns {
					if c.Name == name {
						found = true
						if !slices.Equal(c.Grants, want) {
							t.Errorf("grants of %s: got %q, want %q", name, c.Grants, want)
						}
					}
				}
				if !found {
					t.Errorf("column %s not visible", name)
				}
			}
			if eff.PolicyVersion != 7 || len(eff.Hash) != 64 || eff.User != tc.user || eff.Table != table {
				t.Errorf("header: version %d hash %q user %q table %q", eff.PolicyVersion, eff.Hash, eff.User, eff.Table)
			}
			for _, c := range eff.Columns {
				if c.CellFilter != nil && len(callsIn(c.CellFilter)) > 0 {
					t.Errorf("cell filter of %s has calls: %s", c.Name, c.CellFilter)
				}
			}
			if eff.Filter != nil && len(callsIn(eff.Filter)) > 0 {
				t.Errorf("filter has calls: %s", eff.Filter)
			}
		})
	}
}

func add(fs ...func(s *Snapshot)) func(s *Snapshot) {
	return func(s *Snapshot) {
		for _, f := range fs {
			f(s)
		}
	}
}

func grants(g ...Grant) func(s *Snapshot) {
	return func(s *Snapshot) { s.Grants = append(s.Grants, g...) }
}

func masks(m ...ColumnMask) func(s *Snapshot) {
	return func(s *Snapshot) { s.Masks = append(s.Masks, m...) }
}

func unmasks(u ...Unmask) func(s *Snapshot) {
	return func(s *Snapshot) { s.Unmasks = append(s.Unmasks, u...) }
}

func tagPolicies(p ...TagPolicy) func(s *Snapshot) {
	return func(s *Snapshot) { s.TagPolicies = append(s.TagPolicies, p...) }
}

func safeguards(g ...Safeguard) func(s *Snapshot) {
	return func(s *Snapshot) { s.Safeguards = append(s.Safeguards, g...) }
}

// idEmail is a grant of (id, email) on sales.orders to p: the small column
// set most mask cases use.
func idEmail(p Ref) func(s *Snapshot) {
	return grants(tg("g", p, "sales.orders", cols("id", "email"), nil))
}

func TestEvaluatePrincipals(t *testing.T) {
	all := grants(tg("g", GroupRef("eu_analysts"), "sales.orders", nil, nil))
	runCases(t, []evalCase{
		{name: "direct user grant", user: "henry",
			add:  grants(tg("g1", UserRef("henry"), "sales.orders", nil, nil)),
			cols: allOrders, grants: []string{"g1"}, absent: []string{}},
		{name: "grant to the user's group", user: "alice", add: all, cols: allOrders, grants: []string{"g"}},
		{name: "grant to an enclosing group (nested)", user: "alice",
			add:  grants(tg("g", GroupRef("analysts"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "grant to a role of an enclosing group", user: "alice",
			add:  grants(tg("g", RoleRef("analyst"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "grant to a role granted to the user", user: "carol",
			add:  grants(tg("g", RoleRef("auditor"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "grant to a role granted to a group", user: "frank",
			add:  grants(tg("g", RoleRef("engineer"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "role chain two hops", user: "frank",
			add:  grants(tg("g", RoleRef("reader"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "role chain three hops", user: "frank",
			add:  grants(tg("g", RoleRef("base_reader"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "group cycle terminates", user: "gina",
			add:  grants(tg("g", GroupRef("c2"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "role cycle terminates", user: "gina",
			add:  grants(tg("g", RoleRef("r2"), "sales.orders", nil, nil)),
			cols: allOrders},
		{name: "role in a group is ignored", user: "alice",
			add:  grants(tg("g", GroupRef("hidden"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied, msg: "user alice has no SELECT grant on sales.orders"},
		{name: "group in a user is ignored", user: "alice",
			add:  grants(tg("g", UserRef("henry"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "sibling group is not a principal", user: "alice",
			add:  grants(tg("g", GroupRef("us_analysts"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "membership does not flow downwards", user: "henry",
			add:  grants(tg("g", GroupRef("analysts"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "a group named like the user is another principal", user: "henry",
			add:  grants(tg("g", GroupRef("henry"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "a role named like a group is another principal", user: "alice",
			add:  grants(tg("g", RoleRef("analysts"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "another user's grant", user: "bob",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied, msg: "user bob has no SELECT grant on sales.orders"},
		{name: "no grant at all", user: "henry", code: apierr.PermissionDenied},
		{name: "grants from several principals are merged", user: "alice",
			add: grants(
				tg("g2", GroupRef("analysts"), "sales.orders", cols("region"), nil),
				tg("g1", UserRef("alice"), "sales.orders", cols("id"), nil),
				tg("g3", RoleRef("analyst"), "sales.orders", cols("id"), nil)),
			cols: []string{"id", "region"}, grants: []string{"g1", "g2", "g3"},
			colGrants: map[string][]string{"id": {"g1", "g3"}, "region": {"g2"}}},
	})
}

func TestEvaluateScope(t *testing.T) {
	runCases(t, []evalCase{
		{name: "database scope covers its tables", user: "alice",
			add:  grants(dg("g", UserRef("alice"), "sales", nil, nil)),
			cols: allOrders},
		{name: "database scope covers another table of the database", user: "alice", table: "sales.customers",
			add:  grants(dg("g", UserRef("alice"), "sales", nil, nil)),
			cols: []string{"id", "name", "country"}},
		{name: "database scope of another database", user: "alice",
			add:  grants(dg("g", UserRef("alice"), "hr", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "catalog scope covers every database", user: "alice", table: "hr.employees",
			add:  grants(cg("g", UserRef("alice"), nil, nil)),
			cols: []string{"id", "name", "salary", "dept", "hired"}},
		{name: "table scope of another table", user: "alice", table: "sales.customers",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", nil, nil)),
			code: apierr.PermissionDenied, msg: "no SELECT grant on sales.customers"},
		{name: "table scope needs the database too", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "hr.orders", nil, nil)),
			code: apierr.PermissionDenied},
		{name: "unknown scope kind is ignored", user: "alice",
			add: grants(Grant{ID: "g", Principal: UserRef("alice"), Privilege: "SELECT",
				Scope: Scope{Kind: "schema", Database: "sales", Table: "orders"}}),
			code: apierr.PermissionDenied},
		{name: "non-SELECT privilege is ignored", user: "alice",
			add: grants(Grant{ID: "g", Principal: UserRef("alice"), Privilege: "INSERT",
				Scope: Scope{Kind: ScopeTable, Database: "sales", Table: "orders"}}),
			code: apierr.PermissionDenied},
		{name: "privilege select in lower case", user: "alice",
			add: grants(Grant{ID: "g", Principal: UserRef("alice"), Privilege: "select",
				Scope: Scope{Kind: ScopeTable, Database: "sales", Table: "orders"}, Columns: cols("id")}),
			cols: []string{"id"}},
		{name: "privilege ALL includes SELECT", user: "alice",
			add: grants(Grant{ID: "g", Principal: UserRef("alice"), Privilege: "ALL",
				Scope: Scope{Kind: ScopeTable, Database: "sales", Table: "orders"}, Columns: cols("id")}),
			cols: []string{"id"}},
		{name: "empty privilege is SELECT", user: "alice",
			add: grants(Grant{ID: "g", Principal: UserRef("alice"),
				Scope: Scope{Kind: ScopeCatalog}, Columns: cols("id")}),
			cols: []string{"id"}},
		{name: "grants of every scope combine", user: "alice",
			add: grants(
				cg("gc", UserRef("alice"), cols("id"), nil),
				dg("gd", GroupRef("analysts"), "sales", cols("region"), nil),
				tg("gt", RoleRef("analyst"), "sales.orders", cols("owner"), nil),
				dg("gx", UserRef("alice"), "hr", nil, nil)),
			cols: []string{"id", "region", "owner"}, grants: []string{"gc", "gd", "gt"}},
		{name: "unknown table", user: "alice", table: "sales.nope",
			add:  grants(cg("g", UserRef("alice"), nil, nil)),
			code: apierr.NotFound, msg: "table sales.nope not found"},
		{name: "unknown table without any grant", user: "henry", table: "x.y",
			code: apierr.NotFound},
		{name: "unknown table for a catalog admin", user: "erin", table: "sales.nope",
			code: apierr.NotFound},
		{name: "empty user", user: "", code: apierr.InvalidArgument},
	})
}

func TestEvaluateColumns(t *testing.T) {
	runCases(t, []evalCase{
		{name: "column grant in table order", user: "alice",
			add:    grants(tg("g", UserRef("alice"), "sales.orders", cols("email", "id"), nil)),
			cols:   []string{"id", "email"},
			absent: []string{"region", "owner", "phone", "card", "amount", "created", "is_test"}},
		{name: "two column grants are united", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", cols("amount", "id"), nil),
				tg("g2", GroupRef("analysts"), "sales.orders", cols("id", "region"), nil)),
			cols:      []string{"id", "region", "amount"},
			colGrants: map[string][]string{"id": {"g1", "g2"}, "region": {"g2"}, "amount": {"g1"}}},
		{name: "a column grant and an all-column grant", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", cols("id"), nil),
				tg("g2", UserRef("alice"), "sales.orders", nil, nil)),
			cols: allOrders, absent: []string{},
			colGrants: map[string][]string{"id": {"g1", "g2"}, "email": {"g2"}}},
		{name: "a granted column that no longer exists is ignored", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id", "dropped"), nil)),
			cols: []string{"id"}},
		{name: "only dropped columns granted", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("dropped"), nil)),
			code: apierr.PermissionDenied, msg: "no SELECT grant on any column of sales.orders"},
		{name: "empty column list grants no column", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", []string{}, nil)),
			code: apierr.PermissionDenied},
		{name: "empty column list next to a real grant", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", []string{}, nil),
				tg("g2", UserRef("alice"), "sales.orders", cols("region"), nil)),
			cols: []string{"region"}, grants: []string{"g1", "g2"},
			colGrants: map[string][]string{"region": {"g2"}}},
		{name: "column names are case-sensitive", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("ID", "region"), nil)),
			cols: []string{"region"}},
		{name: "duplicate column names in a grant", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id", "id"), nil)),
			cols: []string{"id"}},
		{name: "database grant with columns applies per table", user: "alice", table: "sales.customers",
			add:  grants(dg("g", UserRef("alice"), "sales", cols("id", "email", "name"), nil)),
			cols: []string{"id", "name"}, absent: []string{"country"}},
	})
}

func TestEvaluateRows(t *testing.T) {
	runCases(t, []evalCase{
		{name: "one filter", user: "alice",
			add:     grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), regionEU)),
			cols:    []string{"id"},
			filter:  "region = 'EU'",
			sources: []string{"grant g: region = 'EU'"}},
		{name: "filter SQL as written is the source", user: "alice",
			add: func(s *Snapshot) {
				gr := tg("g", UserRef("alice"), "sales.orders", cols("id"), eq(col("region"), attr("region")))
				gr.FilterSQL = "region = user_attribute('region')"
				s.Grants = append(s.Grants, gr)
			},
			cols:    []string{"id"},
			filter:  "region = 'EU'",
			sources: []string{"grant g: region = user_attribute('region')"}},
		{name: "two filters are ORed", user: "alice",
			add: grants(
				tg("g2", UserRef("alice"), "sales.orders", cols("id"), regionUS),
				tg("g1", GroupRef("analysts"), "sales.orders", cols("id"), regionEU)),
			cols:    []string{"id"},
			filter:  "region = 'EU' OR region = 'US'",
			sources: []string{"grant g1: region = 'EU'", "grant g2: region = 'US'"}},
		{name: "an unfiltered grant admits every row", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", cols("id"), regionEU),
				dg("g2", UserRef("alice"), "sales", cols("id"), nil)),
			cols: []string{"id"}},
		{name: "the same filter in two grants appears once", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", cols("id"), regionEU),
				tg("g2", GroupRef("eu_analysts"), "sales.orders", cols("id"), eq(col("region"), str("EU")))),
			cols:    []string{"id"},
			filter:  "region = 'EU'",
			sources: []string{"grant g1: region = 'EU'", "grant g2: region = 'EU'"}},
		{name: "user_attribute present", user: "alice",
			add:     grants(tg("g", GroupRef("analysts"), "sales.orders", cols("id"), eq(col("region"), attr("region")))),
			cols:    []string{"id"},
			filter:  "region = 'EU'",
			sources: []string{"grant g: region = user_attribute('region')"}},
		{name: "user_attribute present for another user", user: "bob",
			add:    grants(tg("g", GroupRef("analysts"), "sales.orders", cols("id"), eq(col("region"), attr("region")))),
			cols:   []string{"id"},
			filter: "region = 'US'", sources: []string{"grant g: region = user_attribute('region')"}},
		{name: "user_attribute absent admits no row", user: "carol",
			add:     grants(tg("g", RoleRef("auditor"), "sales.orders", cols("id"), eq(col("region"), attr("region")))),
			cols:    []string{"id"},
			filter:  "FALSE",
			sources: []string{"grant g: region = user_attribute('region')"}},
		{name: "user_attribute absent under NOT still admits no row", user: "carol",
			add:    grants(tg("g", RoleRef("auditor"), "sales.orders", cols("id"), not(eq(col("region"), attr("region"))))),
			cols:   []string{"id"},
			filter: "FALSE", sources: []string{"grant g: NOT region = user_attribute('region')"}},
		{name: "user_attribute IS NULL when absent", user: "carol",
			add: grants(tg("g", RoleRef("auditor"), "sales.orders", cols("id"),
				or(isNull(attr("region")), eq(col("region"), attr("region"))))),
			cols: []string{"id"}},
		{name: "user_attribute IN list", user: "alice",
			add: grants(tg("g", UserRef("alice"), "sales.orders", cols("id"),
				or(inList(attr("level"), str("3"), str("4")), regionEU))),
			cols: []string{"id"}},
		{name: "user_attribute IN list, no match", user: "bob",
			add: grants(tg("g", UserRef("bob"), "sales.orders", cols("id"),
				or(inList(attr("level"), str("3"), str("4")), regionEU))),
			cols: []string{"id"}, filter: "region = 'EU'",
			sources: []string{"grant g: user_attribute('level') IN ('3', '4') OR region = 'EU'"}},
		{name: "has_role true admits every row", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), or(hasRole("analyst"), regionEU))),
			cols: []string{"id"}},
		{name: "has_role false leaves the rest", user: "bob",
			add:  grants(tg("g", UserRef("bob"), "sales.orders", cols("id"), or(hasRole("auditor"), regionUS))),
			cols: []string{"id"}, filter: "region = 'US'",
			sources: []string{"grant g: has_role('auditor') OR region = 'US'"}},
		{name: "has_role alone false", user: "bob",
			add:  grants(tg("g", UserRef("bob"), "sales.orders", cols("id"), hasRole("auditor"))),
			cols: []string{"id"}, filter: "FALSE", sources: []string{"grant g: has_role('auditor')"}},
		{name: "has_role through a role chain", user: "frank",
			add:  grants(tg("g", UserRef("frank"), "sales.orders", cols("id"), hasRole("base_reader"))),
			cols: []string{"id"}},
		{name: "has_role is about roles, not groups", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), hasRole("analysts"))),
			cols: []string{"id"}, filter: "FALSE", sources: []string{"grant g: has_role('analysts')"}},
		{name: "NOT has_role", user: "bob",
			add:  grants(tg("g", UserRef("bob"), "sales.orders", cols("id"), and(not(hasRole("auditor")), regionUS))),
			cols: []string{"id"}, filter: "region = 'US'",
			sources: []string{"grant g: NOT has_role('auditor') AND region = 'US'"}},
		{name: "current_user compared with a column", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), eq(col("owner"), curUser()))),
			cols: []string{"id"}, filter: "owner = 'alice'", sources: []string{"grant g: owner = current_user()"}},
		{name: "current_user compared with a constant, true", user: "alice",
			add:  grants(tg("g", GroupRef("analysts"), "sales.orders", cols("id"), or(eq(curUser(), str("alice")), regionUS))),
			cols: []string{"id"}},
		{name: "current_user compared with a constant, false", user: "bob",
			add:  grants(tg("g", GroupRef("analysts"), "sales.orders", cols("id"), or(eq(curUser(), str("alice")), regionUS))),
			cols: []string{"id"}, filter: "region = 'US'",
			sources: []string{"grant g: current_user() = 'alice' OR region = 'US'"}},
		{name: "current_user LIKE", user: "alice",
			add:  grants(tg("g", GroupRef("analysts"), "sales.orders", cols("id"), or(likeExpr(curUser(), "al%"), regionUS))),
			cols: []string{"id"}},
		{name: "attribute coerced to a timestamp", user: "frank", table: "hr.employees",
			add:  grants(tg("g", UserRef("frank"), "hr.employees", cols("id"), ge(col("hired"), attr("since")))),
			cols: []string{"id"}, filter: "hired >= TIMESTAMP '2024-01-01 00:00:00'",
			sources: []string{"grant g: hired >= user_attribute('since')"}},
		{name: "attribute that is not a timestamp fails closed", user: "gina", table: "hr.employees",
			add:  grants(tg("g", UserRef("gina"), "hr.employees", cols("id"), ge(col("hired"), attr("since")))),
			code: apierr.FailedPrecondition, msg: "grant g"},
		{name: "filter on a column the table lacks fails closed", user: "alice", table: "sales.customers",
			add:  grants(dg("g", UserRef("alice"), "sales", nil, regionEU)),
			code: apierr.FailedPrecondition, msg: "unknown column region"},
		{name: "filter that does not type-check fails closed", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", nil, eq(col("id"), str("x")))),
			code: apierr.FailedPrecondition, msg: "the row filter of grant g cannot be applied to sales.orders"},
		{name: "unknown function fails closed", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", nil, eq(col("region"), call("session_region")))),
			code: apierr.FailedPrecondition, msg: "session_region"},
		{name: "has_role with a column argument fails closed", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", nil, call("has_role", col("region")))),
			code: apierr.FailedPrecondition},
		{name: "a bad filter fails even next to an unfiltered grant", user: "alice",
			add: grants(
				tg("g1", UserRef("alice"), "sales.orders", nil, nil),
				tg("g2", UserRef("alice"), "sales.orders", nil, eq(col("gone"), i64(1)))),
			code: apierr.FailedPrecondition, msg: "grant g2"},
		{name: "filter on a column the grant does not show", user: "alice",
			add:  grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), notTest)),
			cols: []string{"id"}, filter: "NOT is_test", sources: []string{"grant g: NOT is_test"}},
	})
}

func TestEvaluateSafeguardFilters(t *testing.T) {
	noTest := Safeguard{Name: "no_test", Database: "sales", Table: "orders", Filter: notTest}
	runCases(t, []evalCase{
		{name: "safeguard ANDed to a grant filter", user: "alice",
			add:     add(grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), regionEU)), safeguards(noTest)),
			cols:    []string{"id"},
			filter:  "region = 'EU' AND NOT is_test",
			sources: []string{"grant g: region = 'EU'", "safeguard no_test: NOT is_test"}},
		{name: "safeguard ANDed to ORed grant filters", user: "alice",
			add: add(grants(
				tg("g1", UserRef("alice"), "sales.orders", cols("id"), regionEU),
				tg("g2", UserRef("alice"), "sales.orders", cols("id"), regionUS)), safeguards(noTest)),
			cols:    []string{"id"},
			filter:  "(region = 'EU' OR region = 'US') AND NOT is_test",
			sources: []string{"grant g1: region = 'EU'", "grant g2: region = 'US'", "safeguard no_test: NOT is_test"}},
		{name: "safeguard with an unfiltered grant", user: "alice",
			add:     add(grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), nil)), safeguards(noTest)),
			cols:    []string{"id"},
			filter:  "NOT is_test",
			sources: []string{"safeguard no_test: NOT is_test"}},
		{name: "two safeguards in name order", user: "alice",
			add: add(grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), nil)), safeguards(
				Safeguard{Name: "z_recent", Database: "sales", Table: "orders", Filter: ge(col("id"), i64(100))},
				noTest)),
			cols:    []string{"id"},
			filter:  "NOT is_test AND id >= 100",
			sources: []string{"safeguard no_test: NOT is_test", "safeguard z_recent: id >= 100"}},
		{name: "safeguard of another table does not apply", user: "alice", table: "sales.customers",
			add:  add(grants(dg("g", UserRef("alice"), "sales", nil, nil)), safeguards(noTest)),
			cols: []string{"id", "name", "country"}},
		{name: "safeguard with a policy function", user: "alice",
			add: add(grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), nil)), safeguards(
				Safeguard{Name: "home", Database: "sales", Table: "orders", Filter: eq(col("region"), attr("region")),
					FilterSQL: "region = user_attribute('region')"})),
			cols: []string{"id"}, filter: "region = 'EU'",
			sources: []string{"safeguard home: region = user_attribute('region')"}},
		{name: "safeguard false for the user hides every row", user: "carol",
			add: add(grants(tg("g", RoleRef("auditor"), "sales.orders", cols("id"), nil)), safeguards(
				Safeguard{Name: "home", Database: "sales", Table: "orders", Filter: eq(col("region"), attr("region"))})),
			cols: []string{"id"}, filter: "FALSE",
			sources: []string{"safeguard home: region = user_attribute('region')"}},
		{name: "safeguard overrides has_role in a grant", user: "alice",
			add:  add(grants(tg("g", UserRef("alice"), "sales.orders", cols("id"), hasRole("analyst"))), safeguards(noTest)),
			cols: []string{"id"}, filter: "NOT is_test", sources: []string{"safeguard no_test: NOT is_test"}},
		{name: "catalog admin ignores safeguard filters", user: "erin",
			add:   safeguards(noTest),
			admin: true, cols: allOrders},
		{name: "safeguard filter that does not apply fails closed", user: "alice",
			add: add(grants(tg("g", UserRef("alice"), "sales.orders", nil, nil)), safeguards(
				Safeguard{Name: "bad", Database: "sales", Table: "orders", Filter: eq(col("gone"), i64(1))})),
			code: apierr.FailedPrecondition, msg: "safeguard bad"},
	})
}

func TestEvaluateCells(t *testing.T) {
	runCases(t, []evalCase{
		{name: "spec example: email only in EU rows", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("id", "region", "owner", "phone", "card", "amount", "created", "is_test"), nil)),
			cols:      []string{"id", "region", "owner", "email cell=region = 'EU'", "phone", "card", "amount", "created", "is_test"},
			colGrants: map[string][]string{"id": {"a", "b"}, "email": {"a"}, "phone": {"b"}}},
		{name: "two filtered grants on different columns", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("id", "phone"), regionUS)),
			cols:    []string{"id", "email cell=region = 'EU'", "phone cell=region = 'US'"},
			filter:  "region = 'EU' OR region = 'US'",
			sources: []string{"grant a: region = 'EU'", "grant b: region = 'US'"}},
		{name: "cell filter equal to the row filter is dropped", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("id", "email"), regionUS)),
			cols:   []string{"id", "email"},
			filter: "region = 'EU' OR region = 'US'", sources: []string{"grant a: region = 'EU'", "grant b: region = 'US'"}},
		{name: "cell filter covering every distinct filter is dropped", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("email"), eq(col("region"), str("EU")))),
			cols:   []string{"id", "email"},
			filter: "region = 'EU'", sources: []string{"grant a: region = 'EU'", "grant b: region = 'EU'"}},
		{name: "cell filter TRUE through has_role", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), hasRole("analyst")),
				tg("b", UserRef("alice"), "sales.orders", cols("id"), nil)),
			cols: []string{"id", "email"}},
		{name: "cell filter FALSE when its attribute is absent", user: "carol",
			add: grants(
				tg("a", RoleRef("auditor"), "sales.orders", cols("id"), nil),
				tg("b", RoleRef("auditor"), "sales.orders", cols("email"), eq(col("region"), attr("region")))),
			cols: []string{"id", "email cell=FALSE"}},
		{name: "cell filter ORs the grants covering the column", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("email"), regionUS),
				tg("c", UserRef("alice"), "sales.orders", cols("id"), ge(col("id"), i64(10)))),
			cols:    []string{"id cell=region = 'EU' OR id >= 10", "email cell=region = 'EU' OR region = 'US'"},
			filter:  "region = 'EU' OR region = 'US' OR id >= 10",
			sources: []string{"grant a: region = 'EU'", "grant b: region = 'US'", "grant c: id >= 10"}},
		{name: "cell filters resolve policy functions", user: "alice",
			add: grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), eq(col("owner"), curUser())),
				tg("b", UserRef("alice"), "sales.orders", cols("id"), nil)),
			cols: []string{"id", "email cell=owner = 'alice'"}},
		{name: "cell filter with a safeguard filter", user: "alice",
			add: add(grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("id"), nil)),
				safeguards(Safeguard{Name: "s", Database: "sales", Table: "orders", Filter: notTest})),
			cols:   []string{"id", "email cell=region = 'EU'"},
			filter: "NOT is_test", sources: []string{"safeguard s: NOT is_test"}},
		{name: "cell filter with a mask", user: "alice",
			add: add(grants(
				tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), regionEU),
				tg("b", UserRef("alice"), "sales.orders", cols("id"), nil)),
				masks(cm("m", "sales.orders", "email", nil, mask("email_domain")))),
			cols: []string{"id", "email mask=email_domain by mask m on email for everyone cell=region = 'EU'"}},
	})
}

func TestEvaluateMasks(t *testing.T) {
	alice := UserRef("alice")
	emailHash := TagPolicy{Name: "pii_hash", TagPattern: "pii.*", Mask: mask("hash")}
	runCases(t, []evalCase{
		// Column masks.
		{name: "column mask for everyone", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact")))),
			cols: []string{"id", "email mask=redact by mask m1 on email for everyone"}},
		{name: "column mask for the user's role", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", ref(RoleRef("analyst")), mask("show_last", 4)))),
			cols: []string{"id", "email mask=show_last(4) by mask m1 on email for role analyst"}},
		{name: "column mask for the user's nested group", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", ref(GroupRef("analysts")), mask("hash")))),
			cols: []string{"id", "email mask=hash by mask m1 on email for group analysts"}},
		{name: "column mask for the user", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", ref(alice), mask("tokenize")))),
			cols: []string{"id", "email mask=tokenize by mask m1 on email for user alice"}},
		{name: "column mask for another principal", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", ref(GroupRef("us_analysts")), mask("redact")))),
			cols: []string{"id", "email"}},
		{name: "column mask on another table", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.customers", "email", nil, mask("redact")))),
			cols: []string{"id", "email"}},
		{name: "column mask on an absent column", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "phone", nil, mask("redact")))),
			cols: []string{"id", "email"}},
		{name: "column mask on a dropped column", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "fax", nil, mask("redact")))),
			cols: []string{"id", "email"}},
		{name: "two column masks: redact beats show_last", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", ref(RoleRef("analyst")), mask("show_last", 4)),
				cm("m2", "sales.orders", "email", nil, mask("redact")))),
			cols: []string{"id", "email mask=redact by mask m2 on email for everyone"}},
		{name: "two column masks: null beats everything", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", nil, mask("null")),
				cm("m2", "sales.orders", "email", nil, mask("redact")))),
			cols: []string{"id", "email mask=null by mask m1 on email for everyone"}},
		{name: "rank tie: smaller show_last wins", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", nil, mask("show_last", 4)),
				cm("m2", "sales.orders", "email", ref(alice), mask("show_last", 2)))),
			cols: []string{"id", "email mask=show_last(2) by mask m2 on email for user alice"}},
		{name: "rank tie: smaller show_first wins", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", nil, mask("show_first", 0)),
				cm("m2", "sales.orders", "email", nil, mask("show_first", 3)))),
			cols: []string{"id", "email mask=show_first(0) by mask m1 on email for everyone"}},
		{name: "rank tie: round to fewer digits wins", user: "alice",
			add: add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), masks(
				cm("m1", "sales.orders", "amount", nil, mask("round", 2)),
				cm("m2", "sales.orders", "amount", nil, mask("round", 0)))),
			cols: []string{"amount mask=round(0) by mask m2 on amount for everyone"}},
		{name: "rank tie: equal masks name the smaller id", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m2", "sales.orders", "email", nil, mask("hash")),
				cm("m1", "sales.orders", "email", ref(alice), mask("hash")))),
			cols: []string{"id", "email mask=hash by mask m1 on email for user alice"}},
		{name: "zero beats round", user: "alice",
			add: add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), masks(
				cm("m1", "sales.orders", "amount", nil, mask("round", 0)),
				cm("m2", "sales.orders", "amount", nil, mask("zero")))),
			cols: []string{"amount mask=zero by mask m2 on amount for everyone"}},
		{name: "date_year on a date", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("created"), nil)), masks(cm("m1", "sales.orders", "created", nil, mask("date_year")))),
			cols: []string{"created mask=date_year by mask m1 on created for everyone"}},
		{name: "null on a bool", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("is_test"), nil)), masks(cm("m1", "sales.orders", "is_test", nil, mask("null")))),
			cols: []string{"is_test mask=null by mask m1 on is_test for everyone"}},
		{name: "hash beats tokenize", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", nil, mask("tokenize")),
				cm("m2", "sales.orders", "email", nil, mask("hash")))),
			cols: []string{"id", "email mask=hash by mask m2 on email for everyone"}},
		{name: "email_domain beats show_first", user: "alice",
			add: add(idEmail(alice), masks(
				cm("m1", "sales.orders", "email", nil, mask("show_first", 1)),
				cm("m2", "sales.orders", "email", nil, mask("email_domain")))),
			cols: []string{"id", "email mask=email_domain by mask m2 on email for everyone"}},

		// Tag policies.
		{name: "tag policy with a wildcard", user: "alice",
			add:  add(idEmail(alice), tagPolicies(emailHash)),
			cols: []string{"id", "email mask=hash by tag policy pii_hash (tag pii.email)"}},
		{name: "wildcard matches across dots", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("card"), nil)), tagPolicies(emailHash)),
			cols: []string{"card mask=hash by tag policy pii_hash (tag pii.card.number)"}},
		{name: "a plain pattern matches its subtree", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("card"), nil)), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii", Mask: mask("redact")})),
			cols: []string{"card mask=redact by tag policy p (tag pii.card.number)"}},
		{name: "a plain pattern is not a prefix match", user: "alice",
			add:  add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pi", Mask: mask("redact")})),
			cols: []string{"id", "email"}},
		{name: "an exact tag", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("email", "card"), nil)), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii.email", Mask: mask("redact")})),
			cols: []string{"email mask=redact by tag policy p (tag pii.email)", "card"}},
		{name: "leading wildcard", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("email", "phone"), nil)), tagPolicies(TagPolicy{Name: "p", TagPattern: "*.phone", Mask: mask("show_last", 4)})),
			cols: []string{"email", "phone mask=show_last(4) by tag policy p (tag contact.phone)"}},
		{name: "tag policy on a numeric column", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), tagPolicies(TagPolicy{Name: "fin", TagPattern: "finance", Mask: mask("round", 0)})),
			cols: []string{"amount mask=round(0) by tag policy fin (tag finance.amount)"}},
		{name: "two tag policies: most restrictive", user: "alice",
			add: add(idEmail(alice), tagPolicies(emailHash,
				TagPolicy{Name: "a_first", TagPattern: "pii.email", Mask: mask("email_domain")})),
			cols: []string{"id", "email mask=hash by tag policy pii_hash (tag pii.email)"}},
		{name: "two equal tag policies name the first", user: "alice",
			add: add(idEmail(alice), tagPolicies(emailHash,
				TagPolicy{Name: "a_first", TagPattern: "pii.email", Mask: mask("hash")})),
			cols: []string{"id", "email mask=hash by tag policy a_first (tag pii.email)"}},

		// Precedence.
		{name: "column mask beats a more restrictive tag policy", user: "alice",
			add: add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii", Mask: mask("null")}),
				masks(cm("m1", "sales.orders", "email", nil, mask("show_last", 4)))),
			cols: []string{"id", "email mask=show_last(4) by mask m1 on email for everyone"}},
		{name: "safeguard beats a column mask", user: "alice",
			add: add(idEmail(alice), safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii.*", Mask: mask("show_last", 4)}),
				masks(cm("m1", "sales.orders", "email", nil, mask("null")))),
			cols: []string{"id", "email mask=show_last(4) by safeguard pii_guard (tag pii.email)"}},
		{name: "safeguard beats a tag policy", user: "alice",
			add: add(idEmail(alice), safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii", Mask: mask("tokenize")}),
				tagPolicies(emailHash)),
			cols: []string{"id", "email mask=tokenize by safeguard pii_guard (tag pii.email)"}},
		{name: "two safeguards: most restrictive", user: "alice",
			add: add(idEmail(alice), safeguards(
				Safeguard{Name: "a", TagPattern: "pii", Mask: mask("tokenize")},
				Safeguard{Name: "b", TagPattern: "*.email", Mask: mask("redact")})),
			cols: []string{"id", "email mask=redact by safeguard b (tag pii.email)"}},
		{name: "safeguard beats column UNMASK", user: "alice",
			add: add(idEmail(alice), safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii.*", Mask: mask("hash")}),
				unmasks(colUnmask("u", alice, "sales.orders", "email"))),
			cols: []string{"id", "email mask=hash by safeguard pii_guard (tag pii.email)"}},
		{name: "safeguard beats tag UNMASK", user: "alice",
			add: add(idEmail(alice), safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii.*", Mask: mask("hash")}),
				unmasks(tagUnmask("u", alice, "*"))),
			cols: []string{"id", "email mask=hash by safeguard pii_guard (tag pii.email)"}},
		{name: "catalog admin has no masks", user: "erin",
			add: add(safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii", Mask: mask("null")}),
				masks(cm("m1", "sales.orders", "email", nil, mask("redact"))), tagPolicies(emailHash)),
			admin: true, cols: allOrders},

		// UNMASK.
		{name: "column UNMASK lifts a column mask", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(colUnmask("u", RoleRef("analyst"), "sales.orders", "email"))),
			cols: []string{"id", "email"}},
		{name: "column UNMASK lifts a tag policy", user: "alice",
			add:  add(idEmail(alice), tagPolicies(emailHash), unmasks(colUnmask("u", alice, "sales.orders", "email"))),
			cols: []string{"id", "email"}},
		{name: "column UNMASK lifts both levels", user: "alice",
			add: add(idEmail(alice), tagPolicies(emailHash), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(colUnmask("u", GroupRef("eu_analysts"), "sales.orders", "email"))),
			cols: []string{"id", "email"}},
		{name: "column UNMASK on another column", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(colUnmask("u", alice, "sales.orders", "phone"))),
			cols: []string{"id", "email mask=redact by mask m1 on email for everyone"}},
		{name: "column UNMASK on another table", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(colUnmask("u", alice, "sales.customers", "email"))),
			cols: []string{"id", "email mask=redact by mask m1 on email for everyone"}},
		{name: "column UNMASK held by another principal", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(colUnmask("u", UserRef("bob"), "sales.orders", "email"))),
			cols: []string{"id", "email mask=redact by mask m1 on email for everyone"}},
		{name: "tag UNMASK on a parent tag lifts a tag policy", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("email", "card"), nil)), tagPolicies(emailHash), unmasks(tagUnmask("u", alice, "pii"))),
			cols: []string{"email", "card"}},
		{name: "tag UNMASK on one tag lifts only that tag", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("email", "card"), nil)), tagPolicies(emailHash), unmasks(tagUnmask("u", alice, "pii.email"))),
			cols: []string{"email", "card mask=hash by tag policy pii_hash (tag pii.card.number)"}},
		{name: "tag UNMASK with a wildcard", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("email", "card"), nil)), tagPolicies(emailHash), unmasks(tagUnmask("u", RoleRef("analyst"), "pii.c*"))),
			cols: []string{"email mask=hash by tag policy pii_hash (tag pii.email)", "card"}},
		{name: "tag UNMASK does not lift a column mask", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("redact"))),
				unmasks(tagUnmask("u", alice, "pii"))),
			cols: []string{"id", "email mask=redact by mask m1 on email for everyone"}},
		{name: "tag UNMASK held by another principal", user: "alice",
			add:  add(idEmail(alice), tagPolicies(emailHash), unmasks(tagUnmask("u", GroupRef("us_analysts"), "pii"))),
			cols: []string{"id", "email mask=hash by tag policy pii_hash (tag pii.email)"}},
		{name: "tag UNMASK on a descendant does not lift the parent", user: "alice", table: "sales.customers",
			add: add(grants(tg("g", alice, "sales.customers", cols("name"), nil)),
				tagPolicies(TagPolicy{Name: "p", TagPattern: "pii", Mask: mask("redact")}), unmasks(tagUnmask("u", alice, "pii.name.first"))),
			cols: []string{"name mask=redact by tag policy p (tag pii.name)"}},
		{name: "a column with two matched tags needs both lifted", user: "alice",
			add: add(grants(tg("g", alice, "sales.orders", cols("phone"), nil)),
				tagPolicies(TagPolicy{Name: "p", TagPattern: "*.phone", Mask: mask("show_last", 4)}), unmasks(tagUnmask("u", alice, "pii"))),
			cols: []string{"phone mask=show_last(4) by tag policy p (tag contact.phone)"}},
		{name: "a column with two matched tags, both lifted", user: "alice",
			add: add(grants(tg("g", alice, "sales.orders", cols("phone"), nil)),
				tagPolicies(TagPolicy{Name: "p", TagPattern: "*.phone", Mask: mask("show_last", 4)}),
				unmasks(tagUnmask("u1", alice, "pii"), tagUnmask("u2", alice, "contact"))),
			cols: []string{"phone"}},
		{name: "UnlessUnmaskTag: UNMASK on that tag lifts", user: "alice",
			add: add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii.*", Mask: mask("hash"), UnlessUnmaskTag: "pii_reader"}),
				unmasks(tagUnmask("u", alice, "pii_reader"))),
			cols: []string{"id", "email"}},
		{name: "UnlessUnmaskTag: UNMASK on the matched tag does not lift", user: "alice",
			add: add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii.*", Mask: mask("hash"), UnlessUnmaskTag: "pii_reader"}),
				unmasks(tagUnmask("u", alice, "pii.email"))),
			cols: []string{"id", "email mask=hash by tag policy p (tag pii.email)"}},
		{name: "UnlessUnmaskTag covered by a parent pattern", user: "alice",
			add: add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii.*", Mask: mask("hash"), UnlessUnmaskTag: "clearance.pii"}),
				unmasks(tagUnmask("u", alice, "clearance"))),
			cols: []string{"id", "email"}},
		{name: "UnlessUnmaskTag not covered by a child pattern", user: "alice",
			add: add(idEmail(alice), tagPolicies(TagPolicy{Name: "p", TagPattern: "pii.*", Mask: mask("hash"), UnlessUnmaskTag: "clearance"}),
				unmasks(tagUnmask("u", alice, "clearance.pii"))),
			cols: []string{"id", "email mask=hash by tag policy p (tag pii.email)"}},
		{name: "UNMASK lifts one tag policy, another still applies", user: "alice",
			add: add(idEmail(alice), tagPolicies(
				TagPolicy{Name: "p1", TagPattern: "pii.*", Mask: mask("null"), UnlessUnmaskTag: "pii_reader"},
				TagPolicy{Name: "p2", TagPattern: "pii.email", Mask: mask("email_domain")}),
				unmasks(tagUnmask("u", alice, "pii_reader"))),
			cols: []string{"id", "email mask=email_domain by tag policy p2 (tag pii.email)"}},

		// Masks that cannot apply fail closed.
		{name: "column mask invalid for the type", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "id", nil, mask("show_last", 4)))),
			code: apierr.FailedPrecondition, msg: "mask m1 on id for everyone: mask show_last(4) cannot be applied to column id (int64) of sales.orders"},
		{name: "tag policy invalid for the type", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), tagPolicies(TagPolicy{Name: "p", TagPattern: "finance.*", Mask: mask("email_domain")})),
			code: apierr.FailedPrecondition, msg: "tag policy p (tag finance.amount): mask email_domain cannot be applied to column amount (float64)"},
		{name: "safeguard mask invalid for the type", user: "alice",
			add:  add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), safeguards(Safeguard{Name: "s", TagPattern: "finance", Mask: mask("date_year")})),
			code: apierr.FailedPrecondition, msg: "safeguard s"},
		{name: "invalid safeguard mask fails even with UNMASK", user: "alice",
			add: add(grants(tg("g", alice, "sales.orders", cols("amount"), nil)), safeguards(Safeguard{Name: "s", TagPattern: "finance", Mask: mask("hash")}),
				unmasks(colUnmask("u", alice, "sales.orders", "amount"), tagUnmask("u2", alice, "*"))),
			code: apierr.FailedPrecondition, msg: "safeguard s"},
		{name: "invalid mask shadowed by a safeguard still fails", user: "alice",
			add: add(idEmail(alice), safeguards(Safeguard{Name: "s", TagPattern: "pii", Mask: mask("null")}),
				masks(cm("m1", "sales.orders", "email", nil, mask("round", 1)))),
			code: apierr.FailedPrecondition, msg: "mask m1"},
		{name: "unknown mask function", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("scramble")))),
			code: apierr.FailedPrecondition, msg: "scramble"},
		{name: "mask with a wrong argument count", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "email", nil, mask("show_last")))),
			code: apierr.FailedPrecondition, msg: "mask m1"},
		{name: "invalid mask on an absent column is not evaluated", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "amount", nil, mask("redact")))),
			cols: []string{"id", "email"}},
		{name: "invalid mask lifted by UNMASK is not evaluated", user: "alice",
			add: add(idEmail(alice), masks(cm("m1", "sales.orders", "id", nil, mask("redact"))),
				unmasks(colUnmask("u", alice, "sales.orders", "id"))),
			cols: []string{"id", "email"}},
		{name: "invalid mask for another principal is not evaluated", user: "alice",
			add:  add(idEmail(alice), masks(cm("m1", "sales.orders", "id", ref(UserRef("bob")), mask("redact")))),
			cols: []string{"id", "email"}},
	})
}

func TestEvaluateCatalogAdmin(t *testing.T) {
	runCases(t, []evalCase{
		{name: "admin without any grant", user: "erin", admin: true, cols: allOrders, grants: []string{}},
		{name: "admin ignores column grants and filters", user: "erin",
			add:   grants(tg("g", UserRef("erin"), "sales.orders", cols("id"), regionEU)),
			admin: true, cols: allOrders},
		{name: "admin on another database", user: "erin", table: "hr.employees",
			admin: true, cols: []string{"id", "name", "salary", "dept", "hired"}},
		{name: "admin through a role chain", user: "frank",
			add: func(s *Snapshot) {
				s.Memberships = append(s.Memberships, Membership{RoleRef("base_reader"), RoleRef(CatalogAdminRole)})
			},
			admin: true, cols: allOrders},
		{name: "admin role granted directly", user: "henry",
			add: func(s *Snapshot) {
				s.Memberships = append(s.Memberships, Membership{UserRef("henry"), RoleRef(CatalogAdminRole)})
			},
			admin: true, cols: allOrders},
		{name: "a group named catalog_admin is not the role", user: "henry",
			add: func(s *Snapshot) {
				s.Memberships = append(s.Memberships, Membership{UserRef("henry"), GroupRef(CatalogAdminRole)})
			},
			code: apierr.PermissionDenied},
		{name: "a user named catalog_admin is not the role", user: CatalogAdminRole,
			code: apierr.PermissionDenied},
		{name: "admin ignores invalid masks", user: "erin",
			add:   masks(cm("m1", "sales.orders", "id", nil, mask("redact"))),
			admin: true, cols: allOrders},
		{name: "admin ignores filters that do not type-check", user: "erin",
			add:   grants(tg("g", UserRef("erin"), "sales.orders", nil, eq(col("gone"), i64(1)))),
			admin: true, cols: allOrders},
	})
}

// TestDocExamples are the examples of docs/policy.md.
func TestDocExamples(t *testing.T) {
	alice := UserRef("alice")
	ecp := grants(tg("g", alice, "sales.orders", cols("email", "card", "phone"), nil))
	piiHash := tagPolicies(TagPolicy{Name: "pii_hash", TagPattern: "pii.*", Mask: mask("hash")})
	f := func(user string, filter sqlsubset.Expr) func(s *Snapshot) {
		return grants(tg("g", UserRef(user), "sales.orders", cols("id"), filter))
	}
	runCases(t, []evalCase{
		{name: "doc: NOT with an attribute", user: "alice", add: f("alice", not(eq(col("region"), attr("region")))),
			cols: []string{"id"}, filter: "NOT region = 'EU'", sources: []string{"grant g: NOT region = user_attribute('region')"}},
		{name: "doc: IS NULL guard, with the attribute", user: "alice",
			add:  f("alice", or(isNull(attr("region")), eq(col("region"), attr("region")))),
			cols: []string{"id"}, filter: "region = 'EU'",
			sources: []string{"grant g: user_attribute('region') IS NULL OR region = user_attribute('region')"}},
		{name: "doc: current_user for carol", user: "carol", add: f("carol", eq(col("owner"), curUser())),
			cols: []string{"id"}, filter: "owner = 'carol'", sources: []string{"grant g: owner = current_user()"}},
		{name: "doc: LIKE on current_user for carol", user: "carol", add: f("carol", or(likeExpr(curUser(), "al%"), regionUS)),
			cols: []string{"id"}, filter: "region = 'US'", sources: []string{"grant g: current_user() LIKE 'al%' OR region = 'US'"}},
		{name: "doc: has_role for carol", user: "carol", add: f("carol", or(hasRole("analyst"), regionUS)),
			cols: []string{"id"}, filter: "region = 'US'", sources: []string{"grant g: has_role('analyst') OR region = 'US'"}},
		{name: "doc unmask table: nothing", user: "alice", add: add(ecp, piiHash),
			cols: []string{
				"email mask=hash by tag policy pii_hash (tag pii.email)",
				"phone mask=hash by tag policy pii_hash (tag pii.phone)",
				"card mask=hash by tag policy pii_hash (tag pii.card.number)"}},
		{name: "doc unmask table: tag pii", user: "alice", add: add(ecp, piiHash, unmasks(tagUnmask("u", alice, "pii"))),
			cols: []string{"email", "phone", "card"}},
		{name: "doc unmask table: tag pii.email", user: "alice", add: add(ecp, piiHash, unmasks(tagUnmask("u", alice, "pii.email"))),
			cols: []string{
				"email",
				"phone mask=hash by tag policy pii_hash (tag pii.phone)",
				"card mask=hash by tag policy pii_hash (tag pii.card.number)"}},
		{name: "doc unmask table: column email", user: "alice", add: add(ecp, piiHash, unmasks(colUnmask("u", alice, "sales.orders", "email"))),
			cols: []string{
				"email",
				"phone mask=hash by tag policy pii_hash (tag pii.phone)",
				"card mask=hash by tag policy pii_hash (tag pii.card.number)"}},
		{name: "doc unmask table: safeguard", user: "alice",
			add: add(ecp, piiHash, unmasks(tagUnmask("u", alice, "pii"), colUnmask("u2", alice, "sales.orders", "email")),
				safeguards(Safeguard{Name: "pii_guard", TagPattern: "pii.*", Mask: mask("show_last", 4)})),
			cols: []string{
				"email mask=show_last(4) by safeguard pii_guard (tag pii.email)",
				"phone mask=show_last(4) by safeguard pii_guard (tag pii.phone)",
				"card mask=show_last(4) by safeguard pii_guard (tag pii.card.number)"}},
	})
}
