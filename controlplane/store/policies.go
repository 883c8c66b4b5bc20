package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// PolicyKind is what a policy does.
type PolicyKind string

const (
	// TagMask masks every column with a tag matching TagPattern, except
	// for principals holding an UNMASK grant on the column or on a
	// matching tag (or on UnlessUnmaskTag when set).
	TagMask PolicyKind = "tag_mask"
	// SafeguardMask masks every column with a tag matching TagPattern for
	// everyone (UNMASK grants on UnlessUnmaskTag excepted, when set).
	SafeguardMask PolicyKind = "safeguard_mask"
	// SafeguardFilter keeps only the rows of one table that its filter
	// keeps, for everyone.
	SafeguardFilter PolicyKind = "safeguard_filter"
)

// Policy is a tag masking or safeguard policy. The store checks which
// fields each kind needs and keeps them as given; the policy engine gives
// them meaning.
type Policy struct {
	ID   string
	Name string
	Kind PolicyKind
	// TagPattern selects the tagged columns of a tag_mask or
	// safeguard_mask policy, e.g. pii or pii.*.
	TagPattern string
	// Database and Table name the table of a safeguard_filter policy. The
	// policy refers to the table by name: it outlives DeleteTable and
	// applies to a table created again under that name.
	Database string
	Table    string
	// MaskFunction and MaskArgs are the mask of a mask policy.
	MaskFunction string
	MaskArgs     []int64
	// UnlessUnmaskTag exempts principals with an UNMASK grant on this tag
	// (mask policies only; optional).
	UnlessUnmaskTag string
	// FilterExpression (canonical JSON of the expression tree) and
	// FilterSQL (display text) are the filter of a safeguard_filter policy.
	FilterExpression string
	FilterSQL        string
	Comment          string
	Version          int64
	CreatedAt        time.Time
}

const policyColumns = `id, name, kind, tag_pattern, database_name, table_name, mask_function, mask_args, unless_unmask_tag,
	filter_expression, filter_sql, comment, version, created_at`

func scanPolicy(sc scanner) (Policy, error) {
	var p Policy
	var kind, args string
	var created int64
	if err := sc.Scan(&p.ID, &p.Name, &kind, &p.TagPattern, &p.Database, &p.Table, &p.MaskFunction, &args, &p.UnlessUnmaskTag,
		&p.FilterExpression, &p.FilterSQL, &p.Comment, &p.Version, &created); err != nil {
		return Policy{}, err
	}
	p.Kind, p.CreatedAt = PolicyKind(kind), fromMicros(created)
	var err error
	p.MaskArgs, err = decodeArgs("policy mask arguments", args)
	return p, err
}

func (p Policy) check() error {
	if err := checkName("policy", p.Name); err != nil {
		return err
	}
	if err := checkText("policy comment", p.Comment); err != nil {
		return err
	}
	switch p.Kind {
	case TagMask, SafeguardMask:
		if p.Database != "" || p.Table != "" || p.FilterExpression != "" || p.FilterSQL != "" {
			return apierr.New(apierr.InvalidArgument, "a %s policy has no table or filter", p.Kind)
		}
		if err := checkName("policy tag pattern", p.TagPattern); err != nil {
			return err
		}
		if p.UnlessUnmaskTag != "" {
			if err := checkName("policy unmask tag", p.UnlessUnmaskTag); err != nil {
				return err
			}
		}
		return checkFunction("policy mask function", p.MaskFunction)
	case SafeguardFilter:
		if p.TagPattern != "" || p.MaskFunction != "" || len(p.MaskArgs) > 0 || p.UnlessUnmaskTag != "" {
			return apierr.New(apierr.InvalidArgument, "a %s policy has no tag pattern or mask", p.Kind)
		}
		if err := (TableRef{Database: p.Database, Name: p.Table}).check(); err != nil {
			return err
		}
		return checkExpression("policy filter", p.FilterExpression, p.FilterSQL)
	}
	return apierr.New(apierr.InvalidArgument, "unknown policy kind %q; want tag_mask, safeguard_mask or safeguard_filter", string(p.Kind))
}

// CreatePolicy adds a policy (a policy change). A taken name is
// AlreadyExists; the table of a safeguard_filter policy must exist
// (NotFound).
func (tx *Tx) CreatePolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.check(); err != nil {
		return Policy{}, err
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return Policy{}, err
	}
	if p.Kind == SafeguardFilter {
		if _, err := tx.tableID(ctx, TableRef{Database: p.Database, Name: p.Table}); err != nil {
			return Policy{}, err
		}
	}
	at := now()
	p.ID, p.Version, p.CreatedAt = newID(), 1, at
	args := encodeArgs(p.MaskArgs)
	if _, err := tx.q().exec(ctx, "INSERT INTO policies ("+policyColumns+`, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, string(p.Kind), p.TagPattern, p.Database, p.Table, p.MaskFunction, args, p.UnlessUnmaskTag,
		p.FilterExpression, p.FilterSQL, p.Comment, p.Version, micros(at), micros(at)); err != nil {
		return Policy{}, tx.s.writeErr(err, "policy", p.Name)
	}
	p.MaskArgs, _ = decodeArgs("", args)
	return p, nil
}

// GetPolicy returns the named policy or NotFound.
func (s *Store) GetPolicy(ctx context.Context, name string) (Policy, error) {
	return s.q().getPolicy(ctx, s, name)
}

// GetPolicy returns the named policy or NotFound.
func (tx *Tx) GetPolicy(ctx context.Context, name string) (Policy, error) {
	return tx.q().getPolicy(ctx, tx.s, name)
}

func (q querier) getPolicy(ctx context.Context, s *Store, name string) (Policy, error) {
	p, err := scanPolicy(q.queryRow(ctx, "SELECT "+policyColumns+" FROM policies WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{}, notFound("policy", name)
	}
	return p, s.dbErr(err, "read policy")
}

// DeletePolicy removes the named policy if its version is still version (a
// policy change).
func (tx *Tx) DeletePolicy(ctx context.Context, name string, version int64) error {
	if version <= 0 {
		return apierr.New(apierr.InvalidArgument, "deleting policy %q needs the version you read", name)
	}
	if _, _, err := tx.BumpPolicyVersion(ctx); err != nil {
		return err
	}
	res, err := tx.q().exec(ctx, "DELETE FROM policies WHERE name = ? AND version = ?", name, version)
	return tx.checkVersioned(ctx, res, err, "policy", name, version, "SELECT version FROM policies WHERE name = ?", name)
}

// ListPolicies returns one page of policies ordered by name, and the token
// of the next page.
func (s *Store) ListPolicies(ctx context.Context, p Page) ([]Policy, string, error) {
	return s.q().listPolicies(ctx, s, p)
}

// ListPolicies is Store.ListPolicies inside the transaction.
func (tx *Tx) ListPolicies(ctx context.Context, p Page) ([]Policy, string, error) {
	return tx.q().listPolicies(ctx, tx.s, p)
}

func (q querier) listPolicies(ctx context.Context, s *Store, p Page) ([]Policy, string, error) {
	return pageByKey(ctx, q, s, "policies", p, "SELECT "+policyColumns+" FROM policies", "name", nil, nil, scanPolicy,
		func(p Policy) string { return p.Name })
}
