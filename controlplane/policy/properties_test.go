package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// rich is the fixture with a bit of every policy kind, for the
// determinism, hash and explain tests.
func rich() *Snapshot {
	s := fixture()
	a := func(sql string, g Grant) Grant { g.FilterSQL = sql; return g }
	s.Grants = append(s.Grants,
		a("region = user_attribute('region')", tg("a", UserRef("alice"), "sales.orders", cols("id", "email"), eq(col("region"), attr("region")))),
		tg("b", GroupRef("analysts"), "sales.orders", cols("id", "region", "amount"), nil),
		tg("c", GroupRef("us_analysts"), "sales.orders", cols("phone", "card"), regionUS),
		dg("d", RoleRef("auditor"), "sales", nil, or(hasRole("auditor"), regionEU)),
		cg("e", RoleRef("engineer"), cols("id", "name", "dept", "hired", "email"), ge(col("id"), i64(0))),
		dg("f", GroupRef("c1"), "hr", cols("id", "salary"), eq(col("dept"), curUser())),
		tg("g", UserRef("bob"), "sales.orders", cols("owner"), eq(col("owner"), curUser())),
	)
	s.Masks = append(s.Masks,
		cm("m1", "sales.orders", "amount", nil, mask("round", 0)),
		cm("m2", "sales.orders", "email", ref(RoleRef("auditor")), mask("show_first", 2)),
		cm("m3", "sales.orders", "email", ref(RoleRef("auditor")), mask("show_first", 2)),
		cm("m3", "sales.orders", "email", ref(UserRef("carol")), mask("show_first", 2)), // a duplicate id
		cm("m4", "hr.employees", "salary", nil, mask("zero")),
		cm("m5", "hr.employees", "salary", ref(GroupRef("data_eng")), mask("null")),
	)
	s.Unmasks = append(s.Unmasks,
		tagUnmask("u1", GroupRef("us_analysts"), "pii.phone"),
		colUnmask("u2", RoleRef("reader"), "hr.employees", "salary"),
		tagUnmask("u3", RoleRef("auditor"), "pii"),
	)
	s.TagPolicies = append(s.TagPolicies,
		TagPolicy{Name: "pii_hash", TagPattern: "pii.*", Mask: mask("hash")},
		TagPolicy{Name: "contact", TagPattern: "contact", Mask: mask("show_last", 4)},
		TagPolicy{Name: "names", TagPattern: "*.name", Mask: mask("redact"), UnlessUnmaskTag: "names_ok"},
	)
	s.Safeguards = append(s.Safeguards,
		Safeguard{Name: "no_test", Database: "sales", Table: "orders", Filter: notTest, FilterSQL: "NOT is_test"},
		Safeguard{Name: "cards", TagPattern: "pii.card", Mask: mask("show_last", 4)},
		Safeguard{Name: "cards2", TagPattern: "*.number", Mask: mask("show_last", 4)},
	)
	return s
}

var richUsers = []string{"alice", "bob", "carol", "frank", "erin", "gina", "henry", "nobody"}

// evaluateAll evaluates every user on every table (and an unknown one)
// and renders each outcome as text: the explanation and the canonical
// encoding, or the error.
func evaluateAll(t *testing.T, s *Snapshot) map[string]string {
	t.Helper()
	e := Compile(s)
	out := map[string]string{}
	tables := []string{"sales.orders", "sales.customers", "hr.employees", "sales.nope"}
	for _, u := range richUsers {
		for _, tb := range tables {
			eff, err := e.Evaluate(u, tb)
			if err != nil {
				out[u+" "+tb] = "error " + string(apierr.CodeOf(err)) + ": " + err.Error()
				continue
			}
			c, err := eff.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			out[u+" "+tb] = eff.Explain() + string(c)
		}
	}
	return out
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

func TestDeterministicUnderShuffle(t *testing.T) {
	want := evaluateAll(t, rich())
	ok := 0
	for _, v := range want {
		if v[:5] != "error" {
			ok++
		}
	}
	if ok < 10 {
		t.Fatalf("only %d successful evaluations; the test would prove little", ok)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		s := rich()
		shuffle(r, s.Memberships)
		shuffle(r, s.Grants)
		shuffle(r, s.Masks)
		shuffle(r, s.Unmasks)
		shuffle(r, s.TagPolicies)
		shuffle(r, s.Safeguards)
		for k, tb := range s.Tables {
			for ci := range tb.Columns {
				tags := slices.Clone(tb.Columns[ci].Tags)
				shuffle(r, tags)
				tb.Columns[ci].Tags = tags
			}
			s.Tables[k] = tb
		}
		for gi := range s.Grants {
			if s.Grants[gi].Columns != nil {
				c := slices.Clone(s.Grants[gi].Columns)
				shuffle(r, c)
				s.Grants[gi].Columns = c
			}
		}
		got := evaluateAll(t, s)
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("shuffle %d: %s differs:\n got %s\nwant %s", i, k, got[k], w)
			}
		}
	}
}

func TestEvaluateDoesNotModifySnapshot(t *testing.T) {
	s := rich()
	before := fmt.Sprintf("%#v", s)
	evaluateAll(t, s)
	if after := fmt.Sprintf("%#v", s); after != before {
		t.Fatal("evaluation modified the snapshot")
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	e := Compile(rich())
	want, err := e.Evaluate("alice", "sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				got, err := e.Evaluate("alice", "sales.orders")
				if err != nil || got.Hash != want.Hash {
					t.Errorf("concurrent evaluation: %v %v", err, got)
					return
				}
				_, _ = e.Evaluate(richUsers[j%len(richUsers)], "hr.employees")
			}
		}()
	}
	wg.Wait()
}

// TestHashChanges checks that each change to the effective policy of
// alice on sales.orders changes the hash, and that changes that do not
// touch it keep it.
func TestHashChanges(t *testing.T) {
	hash := func(s *Snapshot, user string) string {
		t.Helper()
		eff, err := Evaluate(s, user, "sales.orders")
		if err != nil {
			t.Fatal(err)
		}
		return eff.Hash
	}
	base := hash(rich(), "alice")
	if again := hash(rich(), "alice"); again != base {
		t.Fatalf("same input, different hash: %s %s", base, again)
	}
	changes := []struct {
		name string
		f    func(s *Snapshot)
	}{
		{"policy version", func(s *Snapshot) { s.Version++ }},
		{"attribute used by a filter", func(s *Snapshot) { s.Attributes["alice"]["region"] = "APAC" }},
		{"attribute removed", func(s *Snapshot) { delete(s.Attributes["alice"], "region") }},
		{"new column grant", grants(tg("z", UserRef("alice"), "sales.orders", cols("owner"), nil))},
		{"new filtered grant", grants(tg("z", UserRef("alice"), "sales.orders", cols("id"), ge(col("id"), i64(5))))},
		{"new unfiltered grant on the cell column", grants(tg("z", UserRef("alice"), "sales.orders", cols("email"), nil))},
		{"grant filter changed", func(s *Snapshot) { s.Grants[0].Filter = regionUS }},
		{"safeguard filter SQL changed", func(s *Snapshot) { s.Safeguards[0].FilterSQL = "is_test = FALSE" }},
		{"grant id changed", func(s *Snapshot) { s.Grants[1].ID = "b2" }},
		{"grant columns changed", func(s *Snapshot) { s.Grants[1].Columns = cols("id", "region") }},
		{"new column mask", masks(cm("z", "sales.orders", "id", nil, mask("null")))},
		{"mask argument changed", func(s *Snapshot) { s.Masks[0].Mask = mask("round", 1) }},
		{"mask id changed", func(s *Snapshot) { s.Masks[0].ID = "m0" }},
		{"column UNMASK", unmasks(colUnmask("z", UserRef("alice"), "sales.orders", "amount"))},
		{"tag UNMASK", unmasks(tagUnmask("z", GroupRef("analysts"), "pii.email"))},
		{"tag policy mask changed", func(s *Snapshot) { s.TagPolicies[0].Mask = mask("tokenize") }},
		{"tag policy renamed", func(s *Snapshot) { s.TagPolicies[0].Name = "pii_hash2" }},
		{"safeguard filter removed", func(s *Snapshot) { s.Safeguards = s.Safeguards[1:] }},
		{"new safeguard mask", safeguards(Safeguard{Name: "z", TagPattern: "pii.email", Mask: mask("null")})},
		{"new membership", func(s *Snapshot) {
			s.Memberships = append(s.Memberships, Membership{UserRef("alice"), GroupRef("us_analysts")})
		}},
		{"membership removed", func(s *Snapshot) { s.Memberships = s.Memberships[1:] }},
		{"column type changed", func(s *Snapshot) {
			tb := s.Tables["sales.orders"]
			tb.Columns = slices.Clone(tb.Columns)
			tb.Columns[0].Type = sqlsubset.Type{ID: sqlsubset.Int32}
			s.Tables["sales.orders"] = tb
		}},
		{"column renamed", func(s *Snapshot) {
			tb := s.Tables["sales.orders"]
			tb.Columns = slices.Clone(tb.Columns)
			tb.Columns[7].Name = "created_on"
			s.Tables["sales.orders"] = tb
		}},
		{"column tag changed", func(s *Snapshot) {
			tb := s.Tables["sales.orders"]
			tb.Columns = slices.Clone(tb.Columns)
			tb.Columns[3].Tags = []string{"pii.card"}
			s.Tables["sales.orders"] = tb
		}},
		{"catalog admin", func(s *Snapshot) {
			s.Memberships = append(s.Memberships, Membership{UserRef("alice"), RoleRef(CatalogAdminRole)})
		}},
	}
	seen := map[string]string{base: "base"}
	for _, c := range changes {
		s := rich()
		c.f(s)
		h := hash(s, "alice")
		if h == base {
			t.Errorf("%s: hash did not change", c.name)
		}
		if prev, dup := seen[h]; dup {
			t.Errorf("%s: same hash as %s", c.name, prev)
		}
		seen[h] = c.name
	}
	same := []struct {
		name string
		f    func(s *Snapshot)
	}{
		{"another user's attribute", func(s *Snapshot) { s.Attributes["bob"]["region"] = "APAC" }},
		{"an attribute no filter reads", func(s *Snapshot) { s.Attributes["alice"]["level"] = "9" }},
		{"a grant filter rewritten to an equal effect", func(s *Snapshot) { s.Grants[0].Filter = regionEU }},
		{"SQL of a grant filter that no row filter shows", func(s *Snapshot) { s.Grants[0].FilterSQL = "region = 'EU'" }},
		{"a grant on another table", grants(tg("z", UserRef("alice"), "sales.customers", nil, nil))},
		{"a grant to another user", grants(tg("z", UserRef("bob"), "sales.orders", nil, nil))},
		{"a non-SELECT grant", func(s *Snapshot) {
			g := tg("z", UserRef("alice"), "sales.orders", nil, nil)
			g.Privilege = "INSERT"
			s.Grants = append(s.Grants, g)
		}},
		{"a mask on an absent column", masks(cm("z", "sales.orders", "owner", nil, mask("null")))},
		{"a mask for another principal", masks(cm("z", "sales.orders", "email", ref(UserRef("bob")), mask("null")))},
		{"a less restrictive tag policy", tagPolicies(TagPolicy{Name: "z", TagPattern: "pii", Mask: mask("show_last", 1)})},
		{"a safeguard on another table", safeguards(Safeguard{Name: "z", Database: "hr", Table: "employees", Filter: notTest})},
		{"an unrelated membership", func(s *Snapshot) {
			s.Memberships = append(s.Memberships, Membership{UserRef("bob"), RoleRef(CatalogAdminRole)})
		}},
		{"a tag on an absent column", func(s *Snapshot) {
			tb := s.Tables["sales.orders"]
			tb.Columns = slices.Clone(tb.Columns)
			tb.Columns[2].Tags = []string{"pii.owner"}
			s.Tables["sales.orders"] = tb
		}},
	}
	for _, c := range same {
		s := rich()
		c.f(s)
		if h := hash(s, "alice"); h != base {
			t.Errorf("%s: hash changed", c.name)
		}
	}
}

// TestExplain checks the explanation and the effective policy of the
// richest case by hand.
func TestExplain(t *testing.T) {
	eff, err := Evaluate(rich(), "alice", "sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	want := `user alice on sales.orders (policy version 7)
access: grants a, b
columns:
  id      int64    grants a, b
  region  string   grants b
  email   string   mask hash by tag policy pii_hash (tag pii.email); NULL unless region = 'EU'; grants a
  amount  float64  mask round(0) by mask m1 on amount for everyone; grants b
absent (no grant covers them): owner, phone, card, created, is_test
rows: NOT is_test
  from safeguard no_test: NOT is_test
applied: row and cell filters on stored values, then masks, then the query's own predicates
hash: ` + eff.Hash + "\n"
	if got := eff.Explain(); got != want {
		t.Fatalf("Explain:\n%s\nwant:\n%s", got, want)
	}

	admin, err := Evaluate(rich(), "erin", "hr.employees")
	if err != nil {
		t.Fatal(err)
	}
	want = `user erin on hr.employees (policy version 7)
access: catalog_admin (every column, no masks, no row filter; safeguards do not apply)
columns:
  id      int64
  name    string
  salary  int64
  dept    string
  hired   timestamp(us)
rows: all
hash: ` + admin.Hash + "\n"
	if got := admin.Explain(); got != want {
		t.Fatalf("Explain:\n%s\nwant:\n%s", got, want)
	}
	if admin.Source != SourceCatalogAdmin || eff.Source != SourceGrants {
		t.Fatalf("sources %q %q", admin.Source, eff.Source)
	}
}

// TestRichCases are more hand-written expectations over the rich snapshot,
// where many policies interact.
func TestRichCases(t *testing.T) {
	r := func(s *Snapshot) {
		x := rich()
		*s = *x
	}
	runCases(t, []evalCase{
		{name: "rich: bob sees phone unmasked by tag, card under the safeguard", user: "bob", add: r,
			cols: []string{
				"id",
				"region",
				"owner cell=owner = 'bob'",
				"phone mask=show_last(4) by tag policy contact (tag contact.phone) cell=region = 'US'",
				"card mask=show_last(4) by safeguard cards (tag pii.card.number) cell=region = 'US'",
				"amount mask=round(0) by mask m1 on amount for everyone",
			},
			filter:  "NOT is_test",
			sources: []string{"safeguard no_test: NOT is_test"},
			grants:  []string{"b", "c", "g"},
			absent:  []string{"email", "created", "is_test"}},
		{name: "rich: carol's tag UNMASK leaves her column mask", user: "carol", add: r,
			cols: []string{
				"id", "region", "owner",
				"email mask=show_first(2) by mask m2 on email for role auditor",
				"phone mask=show_last(4) by tag policy contact (tag contact.phone)",
				"card mask=show_last(4) by safeguard cards (tag pii.card.number)",
				"amount mask=round(0) by mask m1 on amount for everyone",
				"created", "is_test",
			},
			filter:  "NOT is_test",
			sources: []string{"safeguard no_test: NOT is_test"}},
		{name: "rich: frank on hr with a column UNMASK", user: "frank", add: r, table: "hr.employees",
			cols:    []string{"id", "name mask=redact by tag policy names (tag pii.name)", "dept", "hired"},
			filter:  "id >= 0",
			sources: []string{"grant e: id >= 0"}},
		{name: "rich: gina through cyclic groups", user: "gina", add: r, table: "hr.employees",
			cols:    []string{"id", "salary mask=zero by mask m4 on salary for everyone"},
			filter:  "dept = 'gina'",
			sources: []string{"grant f: dept = current_user()"}},
		{name: "rich: henry has nothing", user: "henry", add: r, code: apierr.PermissionDenied},
	})
}

func TestPrincipals(t *testing.T) {
	e := Compile(fixture())
	got := fmt.Sprint(e.Principals("alice"))
	want := "[user alice group analysts group eu_analysts role analyst]"
	if got != want {
		t.Errorf("alice: %s, want %s", got, want)
	}
	got = fmt.Sprint(e.Principals("gina"))
	want = "[user gina group c1 group c2 role r1 role r2]"
	if got != want {
		t.Errorf("gina: %s, want %s", got, want)
	}
	got = fmt.Sprint(e.Principals("frank"))
	want = "[user frank group data_eng role base_reader role engineer role reader]"
	if got != want {
		t.Errorf("frank: %s, want %s", got, want)
	}
	if got := fmt.Sprint(e.Principals("zoe")); got != "[user zoe]" {
		t.Errorf("zoe: %s", got)
	}
}

func TestLongCycleTerminates(t *testing.T) {
	s := fixture()
	const n = 2000
	for i := 0; i < n; i++ {
		s.Memberships = append(s.Memberships,
			Membership{GroupRef(fmt.Sprint("g", i)), GroupRef(fmt.Sprint("g", (i+1)%n))},
			Membership{RoleRef(fmt.Sprint("r", i)), RoleRef(fmt.Sprint("r", (i+7)%n))},
			Membership{GroupRef(fmt.Sprint("g", i)), RoleRef(fmt.Sprint("r", i))})
	}
	s.Memberships = append(s.Memberships, Membership{UserRef("henry"), GroupRef("g0")})
	s.Grants = append(s.Grants, tg("x", RoleRef("r1999"), "sales.orders", cols("id"), nil))
	if got := len(Compile(s).Principals("henry")); got != 1+2*n {
		t.Fatalf("closure size %d, want %d", got, 1+2*n)
	}
	if _, err := Evaluate(s, "henry", "sales.orders"); err != nil {
		t.Fatal(err)
	}
}

func TestCanonical(t *testing.T) {
	eff, err := Evaluate(rich(), "alice", "sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	b, err := eff.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["format"] != canonicalFormat || doc["policy_version"] != float64(7) {
		t.Fatalf("canonical: %s", b)
	}
	cols := doc["columns"].([]any)
	email := cols[2].(map[string]any)
	if email["name"] != "email" || email["mask"].(map[string]any)["func"] != "hash" ||
		email["cell_filter"].(map[string]any)["kind"] != "compare" {
		t.Fatalf("email: %v", email)
	}
	if cols[0].(map[string]any)["cell_filter"] != nil || cols[0].(map[string]any)["mask"] != nil {
		t.Fatalf("id: %v", cols[0])
	}
	// Canonical is stable: encoding twice gives the same bytes.
	b2, _ := eff.Canonical()
	if string(b) != string(b2) {
		t.Fatal("Canonical is not stable")
	}
}

func TestCompileNil(t *testing.T) {
	_, err := Compile(nil).Evaluate("alice", "a.b")
	if !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestTableNameFromKey(t *testing.T) {
	s := &Snapshot{
		Tables: map[string]Table{"db.t": {Columns: []Column{{Name: "x", Type: tInt64}}}},
		Grants: []Grant{dg("g", UserRef("u"), "db", nil, nil)},
	}
	eff, err := Evaluate(s, "u", "db.t")
	if err != nil || len(eff.Columns) != 1 {
		t.Fatalf("%v %v", eff, err)
	}
}

func TestMaskRankIsComplete(t *testing.T) {
	// Every mask function sqlsubset knows has a rank, and no other.
	if got, want := slices.Sorted(slices.Values(MaskRank)), sqlsubset.MaskFunctions(); !slices.Equal(got, want) {
		t.Fatalf("MaskRank %v, sqlsubset mask functions %v", got, want)
	}
	// Each function beats every later one at the same level.
	for i := range MaskRank {
		for j := i + 1; j < len(MaskRank); j++ {
			a := &candidate{mask: sqlsubset.Mask{Func: MaskRank[i]}, id: "z"}
			b := &candidate{mask: sqlsubset.Mask{Func: MaskRank[j]}, id: "a"}
			if !moreRestrictive(a, b) || moreRestrictive(b, a) {
				t.Errorf("%s should beat %s", MaskRank[i], MaskRank[j])
			}
		}
	}
}
