package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nscale/nscale/internal/sqlsubset"
)

// benchSnapshot is a synthetic catalog: 200 tables (20 databases of 10
// tables of 12 columns, 5 of them tagged), 500 users in 50 nested groups,
// 20 roles in chains of 5, 1,000 grants (table, database and catalog scope;
// a third with column lists; three quarters with filters calling policy
// functions), 200 column masks, 3 tag policies, 21 safeguards and 50
// UNMASKs.
func benchSnapshot() *Snapshot {
	s := &Snapshot{Version: 1, Attributes: map[string]map[string]string{}, Tables: map[string]Table{}}
	regions := []string{"EU", "US", "APAC"}
	columns := []Column{
		{Name: "id", Type: tInt64},
		{Name: "region", Type: tString},
		{Name: "owner", Type: tString},
		{Name: "email", Type: tString, Tags: []string{"pii.email"}},
		{Name: "phone", Type: tString, Tags: []string{"pii.phone", "contact.phone"}},
		{Name: "name", Type: tString, Tags: []string{"pii.name"}},
		{Name: "amount", Type: tFloat, Tags: []string{"finance.amount"}},
		{Name: "salary", Type: tInt64, Tags: []string{"finance.salary"}},
		{Name: "created", Type: tDate},
		{Name: "note", Type: tString},
		{Name: "is_test", Type: tBool},
		{Name: "score", Type: tFloat},
	}
	for d := 0; d < 20; d++ {
		for t := 0; t < 10; t++ {
			db, name := fmt.Sprintf("db%02d", d), fmt.Sprintf("t%d", t)
			s.Tables[db+"."+name] = Table{Database: db, Name: name, Columns: columns}
		}
	}
	group := func(i int) Ref { return GroupRef(fmt.Sprintf("grp%02d", i%50)) }
	role := func(i int) Ref { return RoleRef(fmt.Sprintf("role%02d", i%20)) }
	user := func(i int) string { return fmt.Sprintf("u%03d", i%500) }
	for i := 10; i < 50; i++ {
		s.Memberships = append(s.Memberships, Membership{group(i), group(i % 10)})
	}
	for i := 0; i < 50; i++ {
		s.Memberships = append(s.Memberships, Membership{group(i), role(i)})
	}
	for i := 0; i < 20; i++ {
		if i%5 != 4 {
			s.Memberships = append(s.Memberships, Membership{role(i), role(i + 1)})
		}
	}
	for u := 0; u < 500; u++ {
		s.Memberships = append(s.Memberships,
			Membership{UserRef(user(u)), group(u)},
			Membership{UserRef(user(u)), group(u*7 + 3)})
		s.Attributes[user(u)] = map[string]string{"region": regions[u%3], "level": fmt.Sprint(u % 5)}
	}
	colSets := [][]string{nil, {"id", "region", "amount", "created"}, {"id", "email", "phone", "name", "note", "score"}}
	for i := 0; i < 1000; i++ {
		var p Ref
		switch {
		case i%10 < 6:
			p = group(i * 13)
		case i%10 < 9:
			p = role(i * 7)
		default:
			p = UserRef(user(i * 31))
		}
		var f sqlsubset.Expr
		switch i % 4 {
		case 0:
			f = eq(col("region"), attr("region"))
		case 1:
			f = or(hasRole(fmt.Sprintf("role%02d", i%20)), regionEU)
		case 2:
			f = or(eq(col("owner"), curUser()), ge(col("score"), sqlsubset.Float64Literal(0.5)))
		}
		id := fmt.Sprintf("g%04d", i)
		cs := colSets[i%3]
		switch {
		case i%50 == 0:
			s.Grants = append(s.Grants, cg(id, p, colSets[1], f))
		case i%10 == 1:
			s.Grants = append(s.Grants, dg(id, p, fmt.Sprintf("db%02d", i%20), cs, f))
		default:
			s.Grants = append(s.Grants, tg(id, p, fmt.Sprintf("db%02d.t%d", i%20, (i/20)%10), cs, f))
		}
	}
	i := 0
	for key := range s.Tables {
		var p *Ref
		if i%2 == 1 {
			p = ref(role(i))
		}
		s.Masks = append(s.Masks, cm(fmt.Sprintf("m%03d", i), key, "email", p, mask("email_domain")))
		if i < 20 {
			s.Safeguards = append(s.Safeguards, Safeguard{Name: fmt.Sprintf("sg%02d", i), Database: splitDB(key), Table: splitTable(key), Filter: notTest})
		}
		i++
	}
	s.TagPolicies = []TagPolicy{
		{Name: "pii_hash", TagPattern: "pii.*", Mask: mask("hash"), UnlessUnmaskTag: "pii_clear"},
		{Name: "finance", TagPattern: "finance", Mask: mask("round", 0)},
		{Name: "contact", TagPattern: "contact", Mask: mask("show_last", 4)},
	}
	s.Safeguards = append(s.Safeguards, Safeguard{Name: "names", TagPattern: "pii.name", Mask: mask("redact")})
	for i := 0; i < 50; i++ {
		if i%2 == 0 {
			s.Unmasks = append(s.Unmasks, tagUnmask(fmt.Sprintf("um%02d", i), role(i), "pii_clear"))
		} else {
			s.Unmasks = append(s.Unmasks, colUnmask(fmt.Sprintf("um%02d", i), group(i), fmt.Sprintf("db%02d.t%d", i%20, i%10), "email"))
		}
	}
	return s
}

func splitDB(k string) string    { d, _ := splitKey(k); return d }
func splitTable(k string) string { _, t := splitKey(k); return t }

type benchPair struct{ user, table string }

func benchPairs(s *Snapshot, n int) []benchPair {
	r := rand.New(rand.NewPCG(3, 4))
	var tables []string
	for k := range s.Tables {
		tables = append(tables, k)
	}
	// Map order is random: sort for a reproducible sequence.
	slices.Sort(tables)
	out := make([]benchPair, n)
	for i := range out {
		out[i] = benchPair{fmt.Sprintf("u%03d", r.IntN(500)), tables[r.IntN(len(tables))]}
	}
	return out
}

// BenchmarkEngineEvaluate is the steady state: one Engine per policy
// version, one Evaluate per query, over random (user, table) pairs.
func BenchmarkEngineEvaluate(b *testing.B) {
	s := benchSnapshot()
	e := Compile(s)
	pairs := benchPairs(s, 4096)
	allowed := 0
	for _, p := range pairs {
		if _, err := e.Evaluate(p.user, p.table); err == nil {
			allowed++
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pairs[i%len(pairs)]
		i++
		_, _ = e.Evaluate(p.user, p.table)
	}
	// After the loop: b.Loop's first call deletes metrics reported before.
	b.ReportMetric(100*float64(allowed)/float64(len(pairs)), "allowed_%")
}

// BenchmarkEngineEvaluateAllowed measures only pairs that are allowed (a
// full effective policy with hash).
func BenchmarkEngineEvaluateAllowed(b *testing.B) {
	s := benchSnapshot()
	e := Compile(s)
	var pairs []benchPair
	grants, cols := 0, 0
	for _, p := range benchPairs(s, 4096) {
		if eff, err := e.Evaluate(p.user, p.table); err == nil {
			pairs = append(pairs, p)
			grants += len(eff.Grants)
			cols += len(eff.Columns)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pairs[i%len(pairs)]
		i++
		if _, err := e.Evaluate(p.user, p.table); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(grants)/float64(len(pairs)), "grants/eval")
	b.ReportMetric(float64(cols)/float64(len(pairs)), "columns/eval")
}

// BenchmarkCompile is the cost of indexing one snapshot.
func BenchmarkCompile(b *testing.B) {
	s := benchSnapshot()
	b.ReportAllocs()
	for b.Loop() {
		Compile(s)
	}
}

// BenchmarkEvaluateOneShot is Evaluate without a kept Engine: Compile and
// one evaluation.
func BenchmarkEvaluateOneShot(b *testing.B) {
	s := benchSnapshot()
	pairs := benchPairs(s, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pairs[i%len(pairs)]
		i++
		_, _ = Evaluate(s, p.user, p.table)
	}
}
