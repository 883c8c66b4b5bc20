package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// Values of Effective.Source.
const (
	SourceGrants       = "grants"        // access comes from SELECT grants
	SourceCatalogAdmin = "catalog_admin" // the user holds the catalog_admin role
)

// Effective is what one user may read of one table under one policy
// version: which columns (Columns, in table order; a column not listed is
// absent, not NULL), which rows (Filter), which cells (CellFilter) and in
// what form (Mask).
//
// How the agent applies it, in this order, to each row it reads:
//
//  1. Filter, if not nil, is evaluated on the stored (unmasked) values; a
//     row is returned only when it is TRUE (FALSE and NULL drop the row).
//  2. For each column with a CellFilter, evaluated on the stored values, the
//     column is NULL in this row unless the CellFilter is TRUE.
//  3. Each column's Mask replaces the value (the masking function keeps the
//     column's type).
//  4. Only then do the query's own predicates (the user's WHERE clause,
//     joins, aggregates) see the row: they see masked values and the
//     visible columns only, so a user cannot filter on what a mask hides.
//
// Filters never contain policy function calls: current_user(),
// has_role('r') and user_attribute('k') are resolved for the user.
type Effective struct {
	User  string
	Table string // "db.table"
	// Admin is true when the user holds catalog_admin: every column, no
	// mask, no filter, no safeguard.
	Admin bool
	// Source is SourceCatalogAdmin or SourceGrants.
	Source  string
	Columns []EffColumn
	// Absent lists the table's columns that no applicable grant covers, in
	// table order. For operators (explain); never shown to the user.
	Absent []string
	// Filter is the row filter; nil means every row.
	Filter sqlsubset.Expr
	// FilterSources says where Filter comes from: "grant <id>: <sql>" for
	// each applicable grant when no grant admits every row, then
	// "safeguard <name>: <sql>" for each safeguard filter, in name order.
	FilterSources []string
	// Grants are the ids of the applicable grants, sorted.
	Grants []string
	// PolicyVersion is the snapshot's policy version.
	PolicyVersion int64
	// Hash is the hex SHA-256 of Canonical(): equal for equal effective
	// policies (same version included), different otherwise.
	Hash string
	// RulesHash is Hash without the policy version: equal as long as what
	// the user may see of the table is the same, whatever changed
	// elsewhere. Tickets carry it, so that a change of this user's policy
	// on this table, and only that, invalidates them.
	RulesHash string
}

// EffColumn is one visible column.
type EffColumn struct {
	Name string
	Type sqlsubset.Type
	// Mask, if not nil, replaces every value of the column before the query
	// sees it.
	Mask *sqlsubset.Mask
	// MaskSource names the policy that chose Mask: "safeguard <name> (tag
	// <tag>)", "mask <id> on <column> for <principal|everyone>" or "tag
	// policy <name> (tag <tag>)".
	MaskSource string
	// CellFilter, if not nil, is evaluated on the stored values of each row
	// that Filter admits; the column is NULL in the rows where it is not
	// TRUE. It is the OR of the filters of the grants that cover the column,
	// and is nil when that equals the grants' part of the row filter.
	CellFilter sqlsubset.Expr
	// Grants are the ids of the applicable grants that cover the column,
	// sorted.
	Grants []string
}

// canonical is the hashed encoding; field order is fixed by the struct.
type canonical struct {
	Format        string            `json:"format"`
	User          string            `json:"user"`
	Table         string            `json:"table"`
	Admin         bool              `json:"admin"`
	Source        string            `json:"source"`
	Columns       []canonicalColumn `json:"columns"`
	Absent        []string          `json:"absent"`
	Filter        json.RawMessage   `json:"filter"`
	FilterSources []string          `json:"filter_sources"`
	Grants        []string          `json:"grants"`
	PolicyVersion int64             `json:"policy_version"`
}

type canonicalColumn struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Mask       *canonicalMask  `json:"mask"`
	MaskSource string          `json:"mask_source"`
	CellFilter json.RawMessage `json:"cell_filter"`
	Grants     []string        `json:"grants"`
}

type canonicalMask struct {
	Func string  `json:"func"`
	Args []int64 `json:"args"`
}

const canonicalFormat = "nscale.policy.effective/v1"

// Canonical returns the canonical JSON encoding of everything in e but
// Hash: fixed key order, filters in sqlsubset's canonical encoding, nil
// lists as []. Hash is its SHA-256.
func (e *Effective) Canonical() ([]byte, error) {
	c := canonical{
		Format: canonicalFormat, User: e.User, Table: e.Table, Admin: e.Admin, Source: e.Source,
		Columns: make([]canonicalColumn, len(e.Columns)), Absent: nonNil(e.Absent),
		FilterSources: nonNil(e.FilterSources), Grants: nonNil(e.Grants), PolicyVersion: e.PolicyVersion,
	}
	var err error
	if c.Filter, err = treeJSON(e.Filter); err != nil {
		return nil, err
	}
	for i, col := range e.Columns {
		cc := canonicalColumn{Name: col.Name, Type: col.Type.String(), MaskSource: col.MaskSource, Grants: nonNil(col.Grants)}
		if col.Mask != nil {
			cc.Mask = &canonicalMask{Func: col.Mask.Func, Args: col.Mask.Args}
			if cc.Mask.Args == nil {
				cc.Mask.Args = []int64{}
			}
		}
		if cc.CellFilter, err = treeJSON(col.CellFilter); err != nil {
			return nil, err
		}
		c.Columns[i] = cc
	}
	return json.Marshal(c)
}

func treeJSON(e sqlsubset.Expr) (json.RawMessage, error) {
	if e == nil {
		return json.RawMessage("null"), nil
	}
	b, err := sqlsubset.Marshal(e)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// seal computes Hash.
func (e *Effective) seal() error {
	b, err := e.Canonical()
	if err != nil {
		return apierr.Wrap(apierr.FailedPrecondition, err, "the effective policy of %s on %s cannot be encoded", e.User, e.Table)
	}
	sum := sha256.Sum256(b)
	e.Hash = hex.EncodeToString(sum[:])
	rules := *e
	rules.PolicyVersion = 0
	if b, err = rules.Canonical(); err != nil {
		return apierr.Wrap(apierr.FailedPrecondition, err, "the effective policy of %s on %s cannot be encoded", e.User, e.Table)
	}
	sum = sha256.Sum256(b)
	e.RulesHash = hex.EncodeToString(sum[:])
	return nil
}

// Explain renders e for people: what `nscalectl explain` prints.
//
//	user alice on sales.orders (policy version 7)
//	access: grants a, b
//	columns:
//	  id      int64    grants a, b
//	  region  string   grants b
//	  email   string   mask hash by tag policy pii_hash (tag pii.email); NULL unless region = 'EU'; grants a
//	absent (no grant covers them): owner, phone
//	rows: NOT is_test
//	  from safeguard no_test: NOT is_test
//	applied: row and cell filters on stored values, then masks, then the query's own predicates
//	hash: 3b5e...
func (e *Effective) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "user %s on %s (policy version %d)\n", e.User, e.Table, e.PolicyVersion)
	if e.Admin {
		b.WriteString("access: catalog_admin (every column, no masks, no row filter; safeguards do not apply)\n")
	} else {
		fmt.Fprintf(&b, "access: grants %s\n", strings.Join(e.Grants, ", "))
	}
	b.WriteString("columns:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range e.Columns {
		fmt.Fprintf(tw, "  %s\t%s", sqlsubset.QuoteIdent(c.Name), c.Type)
		var notes []string
		if c.Mask != nil {
			notes = append(notes, fmt.Sprintf("mask %s by %s", c.Mask, c.MaskSource))
		}
		if c.CellFilter != nil {
			notes = append(notes, "NULL unless "+c.CellFilter.String())
		}
		if !e.Admin {
			notes = append(notes, "grants "+strings.Join(c.Grants, ", "))
		}
		if len(notes) > 0 {
			fmt.Fprintf(tw, "\t%s", strings.Join(notes, "; "))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(e.Absent) > 0 {
		quoted := make([]string, len(e.Absent))
		for i, a := range e.Absent {
			quoted[i] = sqlsubset.QuoteIdent(a)
		}
		fmt.Fprintf(&b, "absent (no grant covers them): %s\n", strings.Join(quoted, ", "))
	}
	if e.Filter == nil {
		b.WriteString("rows: all\n")
	} else {
		fmt.Fprintf(&b, "rows: %s\n", e.Filter)
	}
	for _, s := range e.FilterSources {
		fmt.Fprintf(&b, "  from %s\n", s)
	}
	if !e.Admin {
		b.WriteString("applied: row and cell filters on stored values, then masks, then the query's own predicates\n")
	}
	fmt.Fprintf(&b, "hash: %s\n", e.Hash)
	return b.String()
}
