package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Engine is a Snapshot indexed for evaluation. It is immutable once built
// and safe for concurrent use; it keeps references into the Snapshot, which
// must not change while the Engine is in use.
type Engine struct {
	version int64
	attrs   map[string]map[string]string
	parents map[Ref][]Ref         // allowed membership edges, member -> parents
	tables  map[string]*tableInfo // by "db.table"
	grants  map[Ref][]*grantInfo  // SELECT grants by principal
	unmasks map[Ref][]*Unmask     // by principal
	empty   map[string]string     // attributes of a user without any
}

type grantInfo struct {
	g    *Grant
	cols map[string]bool // nil: every column
	key  string          // sort key: id, then a canonical description
	sql  string          // the filter as shown in FilterSources
}

type tableInfo struct {
	key              string
	database, name   string
	columns          []Column
	cols             []colInfo // parallel to columns
	schema           sqlsubset.Schema
	safeguardFilters []sgFilter // sorted by name
}

type sgFilter struct {
	sg  *Safeguard
	sql string // the filter as shown in FilterSources
}

type colInfo struct {
	safeguards  []tagMatch[*Safeguard] // sorted by name
	masks       []*ColumnMask          // sorted by id
	tagPolicies []tagMatch[*TagPolicy] // sorted by name
}

// tagMatch is a tag-driven policy that matches a column, with the column's
// tags it matched, sorted.
type tagMatch[T any] struct {
	p    T
	tags []string
}

// Compile indexes s for repeated evaluation. It never fails: problems that
// only matter for some users and tables (a filter that no longer
// type-checks, a mask invalid for its column's type) are reported by
// Evaluate for the evaluations they affect.
func Compile(s *Snapshot) *Engine {
	if s == nil {
		s = &Snapshot{}
	}
	e := &Engine{
		version: s.Version,
		attrs:   s.Attributes,
		parents: map[Ref][]Ref{},
		tables:  make(map[string]*tableInfo, len(s.Tables)),
		grants:  map[Ref][]*grantInfo{},
		unmasks: map[Ref][]*Unmask{},
		empty:   map[string]string{},
	}
	for _, m := range s.Memberships {
		if allowedEdge(m.Member.Kind, m.Parent.Kind) {
			e.parents[m.Member] = append(e.parents[m.Member], m.Parent)
		}
	}
	for i := range s.Grants {
		g := &s.Grants[i]
		if !g.isSelect() {
			continue
		}
		gi := &grantInfo{g: g, key: grantKey(g), sql: filterSQL(g.FilterSQL, g.Filter)}
		if g.Columns != nil {
			gi.cols = make(map[string]bool, len(g.Columns))
			for _, c := range g.Columns {
				gi.cols[c] = true
			}
		}
		e.grants[g.Principal] = append(e.grants[g.Principal], gi)
	}
	for i := range s.Unmasks {
		u := &s.Unmasks[i]
		e.unmasks[u.Principal] = append(e.unmasks[u.Principal], u)
	}

	// Tag-driven policies and masks, sorted once so that every list derived
	// from them is in a deterministic order whatever the snapshot's order.
	var tagSafeguards []*Safeguard
	filterSafeguards := map[string][]sgFilter{}
	for i := range s.Safeguards {
		sg := &s.Safeguards[i]
		if sg.TagPattern != "" {
			tagSafeguards = append(tagSafeguards, sg)
		}
		if sg.Filter != nil {
			k := dbTable(sg.Database, sg.Table)
			filterSafeguards[k] = append(filterSafeguards[k], sgFilter{sg, filterSQL(sg.FilterSQL, sg.Filter)})
		}
	}
	sort.SliceStable(tagSafeguards, func(i, j int) bool { return safeguardLess(tagSafeguards[i], tagSafeguards[j]) })
	for _, l := range filterSafeguards {
		sort.SliceStable(l, func(i, j int) bool { return safeguardLess(l[i].sg, l[j].sg) })
	}
	tagPolicies := make([]*TagPolicy, len(s.TagPolicies))
	for i := range s.TagPolicies {
		tagPolicies[i] = &s.TagPolicies[i]
	}
	sort.SliceStable(tagPolicies, func(i, j int) bool { return tagPolicyLess(tagPolicies[i], tagPolicies[j]) })
	masks := map[string][]*ColumnMask{} // by db, table, column
	for i := range s.Masks {
		m := &s.Masks[i]
		k := dbTable(m.Database, m.Table) + "\x00" + m.Column
		masks[k] = append(masks[k], m)
	}
	for _, l := range masks {
		sort.SliceStable(l, func(i, j int) bool { return columnMaskLess(l[i], l[j]) })
	}

	for key, t := range s.Tables {
		ti := &tableInfo{key: key, database: t.Database, name: t.Name, columns: t.Columns}
		if ti.database == "" && ti.name == "" {
			ti.database, ti.name, _ = strings.Cut(key, ".")
		}
		ti.schema = make(sqlsubset.Schema, len(t.Columns))
		ti.cols = make([]colInfo, len(t.Columns))
		tk := dbTable(ti.database, ti.name)
		for ci, c := range t.Columns {
			if _, dup := ti.schema[c.Name]; !dup {
				ti.schema[c.Name] = c.Type
			}
			info := &ti.cols[ci]
			info.masks = masks[tk+"\x00"+c.Name]
			for _, sg := range tagSafeguards {
				if tags := matchingTags(sg.TagPattern, c.Tags); tags != nil {
					info.safeguards = append(info.safeguards, tagMatch[*Safeguard]{sg, tags})
				}
			}
			for _, tp := range tagPolicies {
				if tags := matchingTags(tp.TagPattern, c.Tags); tags != nil {
					info.tagPolicies = append(info.tagPolicies, tagMatch[*TagPolicy]{tp, tags})
				}
			}
		}
		ti.safeguardFilters = filterSafeguards[tk]
		e.tables[key] = ti
	}
	return e
}

// allowedEdge reports whether a member of kind member may belong to a
// parent of kind parent: users and groups in groups; users, groups and
// roles in roles.
func allowedEdge(member, parent string) bool {
	switch parent {
	case KindGroup:
		return member == KindUser || member == KindGroup
	case KindRole:
		return member == KindUser || member == KindGroup || member == KindRole
	}
	return false
}

func dbTable(db, table string) string { return db + "\x00" + table }

// matchingTags returns the tags that pattern matches, sorted and without
// duplicates, or nil.
func matchingTags(pattern string, tags []string) []string {
	var out []string
	for _, t := range tags {
		if TagMatch(pattern, t) {
			out = append(out, t)
		}
	}
	if out == nil {
		return nil
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// The ...Less functions order policies by their name or id and, should two
// share one, by their content, so that no result depends on the order of
// the snapshot's slices.

func grantKey(g *Grant) string {
	cols := "*"
	if g.Columns != nil {
		c := slices.Clone(g.Columns)
		sort.Strings(c)
		cols = strings.Join(c, "\x01")
	}
	filter := ""
	if g.Filter != nil {
		filter = g.Filter.String()
	}
	return strings.Join([]string{g.ID, g.Principal.Kind, g.Principal.Name, g.Privilege, g.Scope.Kind,
		g.Scope.Database, g.Scope.Table, cols, filter, g.FilterSQL}, "\x00")
}

func safeguardLess(a, b *Safeguard) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return safeguardKey(a) < safeguardKey(b)
}

func safeguardKey(s *Safeguard) string {
	filter := ""
	if s.Filter != nil {
		filter = s.Filter.String()
	}
	return strings.Join([]string{s.TagPattern, s.Mask.String(), s.Database, s.Table, filter, s.FilterSQL}, "\x00")
}

func tagPolicyLess(a, b *TagPolicy) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.TagPattern+"\x00"+a.Mask.String()+"\x00"+a.UnlessUnmaskTag <
		b.TagPattern+"\x00"+b.Mask.String()+"\x00"+b.UnlessUnmaskTag
}

func columnMaskLess(a, b *ColumnMask) bool {
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	pa, pb := "", ""
	if a.Principal != nil {
		pa = a.Principal.String()
	}
	if b.Principal != nil {
		pb = b.Principal.String()
	}
	return pa+"\x00"+a.Mask.String() < pb+"\x00"+b.Mask.String()
}

// Evaluate compiles s and evaluates it for user on table ("db.table"). To
// evaluate many times against one snapshot, Compile once and call
// Engine.Evaluate.
func Evaluate(s *Snapshot, user, table string) (*Effective, error) {
	return Compile(s).Evaluate(user, table)
}

// Principals returns the principal closure of user, sorted by kind then
// name: the user, every group that contains the user (transitively), and
// every role granted to any of those (transitively).
func (e *Engine) Principals(user string, groups ...string) []Ref {
	p := e.closure(user, groups)
	out := make([]Ref, 0, len(p))
	for r := range p {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func kindOrder(k string) int {
	switch k {
	case KindUser:
		return 0
	case KindGroup:
		return 1
	}
	return 2
}

// closure is the principal closure of user and of the groups its
// credential vouches for (an OIDC token's mapped groups claim); a
// breadth-first walk over the allowed membership edges, so a cycle ends
// the walk rather than looping.
func (e *Engine) closure(user string, groups []string) map[Ref]bool {
	start := UserRef(user)
	seen := map[Ref]bool{start: true}
	queue := []Ref{start}
	for _, g := range groups {
		if r := GroupRef(g); !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, p := range e.parents[n] {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return seen
}

// resolvedGrant is an applicable grant with its filter resolved for the
// user.
type resolvedGrant struct {
	*grantInfo
	filter sqlsubset.Expr // never nil: TRUE when the grant has none
	class  int            // grants with equal filters share a class
}

// Evaluate returns the effective policy of user on table ("db.table"); see
// the package documentation for the rules. Errors: InvalidArgument for an
// empty user, NotFound for an unknown table, PermissionDenied when no SELECT
// grant applies, FailedPrecondition when a policy that applies cannot be
// enforced (a filter that does not type-check on the table, a mask that
// does not apply to its column's type).
//
// groups are groups the user's credential itself vouches for, besides its
// memberships in the store.
func (e *Engine) Evaluate(user, table string, groups ...string) (*Effective, error) {
	if user == "" {
		return nil, apierr.New(apierr.InvalidArgument, "user name is empty")
	}
	ti, ok := e.tables[table]
	if !ok {
		return nil, apierr.New(apierr.NotFound, "table %s not found", table)
	}
	principals := e.closure(user, groups)
	eff := &Effective{User: user, Table: table, PolicyVersion: e.version}

	if principals[RoleRef(CatalogAdminRole)] {
		eff.Admin = true
		eff.Source = SourceCatalogAdmin
		eff.Columns = make([]EffColumn, len(ti.columns))
		for i, c := range ti.columns {
			eff.Columns[i] = EffColumn{Name: c.Name, Type: c.Type}
		}
		return eff, eff.seal()
	}
	eff.Source = SourceGrants

	// Applicable grants, in id order.
	var applicable []*grantInfo
	for p := range principals {
		for _, g := range e.grants[p] {
			if covers(g.g.Scope, ti) {
				applicable = append(applicable, g)
			}
		}
	}
	if len(applicable) == 0 {
		return nil, apierr.New(apierr.PermissionDenied, "user %s has no SELECT grant on %s", user, table)
	}
	sort.Slice(applicable, func(i, j int) bool { return applicable[i].key < applicable[j].key })

	attrs := e.attrs[user]
	if attrs == nil {
		attrs = e.empty
	}
	env := &principalEnv{user: user, principals: principals, attrs: attrs}

	grants := make([]resolvedGrant, len(applicable))
	var classes []sqlsubset.Expr // one filter per class, structurally distinct
	for i, g := range applicable {
		f, err := resolveFilter(g.g.Filter, env, ti.schema)
		if err != nil {
			return nil, apierr.Wrap(apierr.FailedPrecondition, err, "the row filter of grant %s cannot be applied to %s", g.g.ID, table)
		}
		class := slices.IndexFunc(classes, func(c sqlsubset.Expr) bool { return sqlsubset.Equal(c, f) })
		if class < 0 {
			class = len(classes)
			classes = append(classes, f)
		}
		grants[i] = resolvedGrant{grantInfo: g, filter: f, class: class}
		eff.Grants = append(eff.Grants, g.g.ID)
	}
	eff.Grants = sortedUnique(eff.Grants)

	// Rows: the grant part is the OR of the applicable grants' filters.
	all := make([]int, len(grants))
	for i := range all {
		all[i] = i
	}
	grantPart, allClasses := orFilters(grants, all, len(classes))
	if !isBoolLit(grantPart, true) {
		// No grant admits every row, so each one's filter is part of it.
		for _, g := range grants {
			eff.FilterSources = append(eff.FilterSources, "grant "+g.g.ID+": "+g.sql)
		}
	}
	// Then every safeguard filter on the table, in name order.
	conj := []sqlsubset.Expr{grantPart}
	for _, sf := range ti.safeguardFilters {
		f, err := resolveFilter(sf.sg.Filter, env, ti.schema)
		if err != nil {
			return nil, apierr.Wrap(apierr.FailedPrecondition, err, "the filter of safeguard %s cannot be applied to %s", sf.sg.Name, table)
		}
		conj = append(conj, f)
		eff.FilterSources = append(eff.FilterSources, "safeguard "+sf.sg.Name+": "+sf.sql)
	}
	rows := normalize(&sqlsubset.And{Args: conj})
	if !isBoolLit(rows, true) {
		eff.Filter = rows
	}

	// The user's UNMASK privileges.
	colUnmask := map[string]bool{}
	var tagUnmask []string
	for p := range principals {
		for _, u := range e.unmasks[p] {
			if u.Column != "" {
				colUnmask[dbTable(u.Database, u.Table)+"\x00"+u.Column] = true
			}
			if u.Tag != "" {
				tagUnmask = append(tagUnmask, u.Tag)
			}
		}
	}
	sort.Strings(tagUnmask)
	tagLifted := func(tag string) bool {
		for _, p := range tagUnmask {
			if TagMatch(p, tag) {
				return true
			}
		}
		return false
	}

	// Columns, in table order.
	tk := dbTable(ti.database, ti.name)
	var covering []int
	for ci, c := range ti.columns {
		covering = covering[:0]
		var ids []string
		for gi, g := range grants {
			if g.cols == nil || g.cols[c.Name] {
				covering = append(covering, gi)
				ids = append(ids, g.g.ID)
			}
		}
		if len(covering) == 0 {
			eff.Absent = append(eff.Absent, c.Name)
			continue
		}
		col := EffColumn{Name: c.Name, Type: c.Type, Grants: sortedUnique(ids)}
		cell, cellClasses := orFilters(grants, covering, len(classes))
		if !isBoolLit(cell, true) && !subset(allClasses, cellClasses) {
			col.CellFilter = cell
		}
		best, err := e.columnMask(ti, ci, principals, colUnmask[tk+"\x00"+c.Name], tagLifted)
		if err != nil {
			return nil, err
		}
		if best != nil {
			m := sqlsubset.Mask{Func: best.mask.Func, Args: slices.Clone(best.mask.Args)}
			col.Mask = &m
			col.MaskSource = best.source
		}
		eff.Columns = append(eff.Columns, col)
	}
	if len(eff.Columns) == 0 {
		return nil, apierr.New(apierr.PermissionDenied, "user %s has no SELECT grant on any column of %s", user, table)
	}
	return eff, eff.seal()
}

// covers reports whether scope covers table t.
func covers(s Scope, t *tableInfo) bool {
	switch s.Kind {
	case ScopeCatalog:
		return true
	case ScopeDatabase:
		return s.Database == t.database
	case ScopeTable:
		return s.Database == t.database && s.Table == t.name
	}
	return false
}

// orFilters returns the OR of the filters of grants[idx...], each distinct
// filter once, in grant order, folded (TRUE if one of them is TRUE, FALSE
// if there is none); and which filter classes it ORs (FALSE excluded).
func orFilters(grants []resolvedGrant, idx []int, nclasses int) (sqlsubset.Expr, []bool) {
	in := make([]bool, nclasses)
	var args []sqlsubset.Expr
	for _, i := range idx {
		g := &grants[i]
		if isBoolLit(g.filter, true) {
			clear(in)
			in[g.class] = true
			return trueLit(), in
		}
		if isBoolLit(g.filter, false) || in[g.class] {
			continue
		}
		in[g.class] = true
		args = append(args, g.filter)
	}
	switch len(args) {
	case 0:
		return falseLit(), in
	case 1:
		return args[0], in
	}
	return normalize(&sqlsubset.Or{Args: args}), in
}

// subset reports whether every class in a is in b.
func subset(a, b []bool) bool {
	for k, in := range a {
		if in && !b[k] {
			return false
		}
	}
	return true
}

func filterSQL(sql string, f sqlsubset.Expr) string {
	if sql != "" {
		return sql
	}
	if f == nil {
		return "TRUE"
	}
	return f.String()
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

// columnMask gathers the masks that apply to column ci for this user at
// every level, checks that each applies to the column's type, and returns
// the winner (nil for none).
func (e *Engine) columnMask(ti *tableInfo, ci int, principals map[Ref]bool, colUnmasked bool, tagLifted func(string) bool) (*candidate, error) {
	c := &ti.columns[ci]
	info := &ti.cols[ci]
	var cands []candidate
	add := func(level maskLevel, m sqlsubset.Mask, id, source string) error {
		if err := m.CheckType(c.Type); err != nil {
			return apierr.Wrap(apierr.FailedPrecondition, err, "%s: mask %s cannot be applied to column %s (%s) of %s",
				source, m, c.Name, c.Type, ti.key)
		}
		cands = append(cands, candidate{level: level, mask: m, id: id, source: source})
		return nil
	}
	// a. Safeguards: everyone, never lifted.
	for _, sg := range info.safeguards {
		if err := add(levelSafeguard, sg.p.Mask, sg.p.Name, fmt.Sprintf("safeguard %s (tag %s)", sg.p.Name, sg.tags[0])); err != nil {
			return nil, err
		}
	}
	if !colUnmasked {
		// b. Column masks for everyone or for a principal of the user.
		for _, m := range info.masks {
			who := "everyone"
			if m.Principal != nil {
				if !principals[*m.Principal] {
					continue
				}
				who = m.Principal.String()
			}
			if err := add(levelColumn, m.Mask, m.ID, fmt.Sprintf("mask %s on %s for %s", m.ID, c.Name, who)); err != nil {
				return nil, err
			}
		}
		// c. Tag policies not lifted by an UNMASK on a tag.
		for _, tp := range info.tagPolicies {
			tag := ""
			if tp.p.UnlessUnmaskTag != "" {
				if !tagLifted(tp.p.UnlessUnmaskTag) {
					tag = tp.tags[0]
				}
			} else {
				for _, t := range tp.tags {
					if !tagLifted(t) {
						tag = t
						break
					}
				}
			}
			if tag == "" {
				continue
			}
			if err := add(levelTag, tp.p.Mask, tp.p.Name, fmt.Sprintf("tag policy %s (tag %s)", tp.p.Name, tag)); err != nil {
				return nil, err
			}
		}
	}
	return pickMask(cands), nil
}
