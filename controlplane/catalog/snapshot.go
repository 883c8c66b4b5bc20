package catalog

import (
	"context"
	"fmt"
	"sync"

	"github.com/nscale/nscale/controlplane/policy"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
)

// engines caches the compiled policy of the newest policy version seen, so
// evaluation costs one cheap version read per call, and a change anywhere
// (on any replica) is picked up at the next call.
type engines struct {
	mu      sync.Mutex
	version int64
	engine  *policy.Engine
}

// Engine returns the compiled policy at the store's current version.
func (s *Service) Engine(ctx context.Context) (*policy.Engine, error) {
	v, err := s.store.PolicyVersion(ctx)
	if err != nil {
		return nil, err
	}
	s.engines.mu.Lock()
	defer s.engines.mu.Unlock()
	if s.engines.engine != nil && s.engines.version == v {
		return s.engines.engine, nil
	}
	snap, err := s.store.PolicySnapshot(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := toPolicy(snap)
	if err != nil {
		return nil, err
	}
	s.engines.version, s.engines.engine = snap.PolicyVersion, policy.Compile(ps)
	return s.engines.engine, nil
}

// toPolicy maps the store's rows onto the evaluator's input. A row it cannot
// decode (a filter or type written by a newer binary) fails the whole
// snapshot: evaluating without it could widen access.
func toPolicy(s store.Snapshot) (*policy.Snapshot, error) {
	ps := &policy.Snapshot{
		Version:    s.PolicyVersion,
		Attributes: s.Attributes,
		Tables:     make(map[string]policy.Table, len(s.Tables)),
	}
	for _, m := range s.Memberships {
		ps.Memberships = append(ps.Memberships, policy.Membership{Member: ref(m.Member), Parent: ref(m.Parent)})
	}
	tags := map[string][]string{}
	for _, ct := range s.ColumnTags {
		k := ct.Database + "." + ct.Table + "." + ct.Column
		tags[k] = append(tags[k], ct.Tag)
	}
	for _, t := range s.Tables {
		pt := policy.Table{Database: t.Database, Name: t.Name}
		for _, c := range t.Columns {
			typ, err := sqlsubset.ParseType(c.Type)
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "column %s.%s.%s has an unreadable type %q", t.Database, t.Name, c.Name, c.Type)
			}
			pt.Columns = append(pt.Columns, policy.Column{Name: c.Name, Type: typ, Tags: tags[t.Database+"."+t.Name+"."+c.Name]})
		}
		ps.Tables[t.Database+"."+t.Name] = pt
	}
	for _, g := range s.Grants {
		pg := policy.Grant{
			ID: g.ID, Principal: ref(g.Principal), Privilege: string(g.Privilege),
			Scope:   policy.Scope{Kind: string(g.Securable.Kind), Database: g.Securable.Database, Table: g.Securable.Table},
			Columns: g.Columns,
		}
		if g.Filter != nil {
			e, err := sqlsubset.Unmarshal([]byte(g.Filter.Expression))
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "grant %s has an unreadable row filter", g.ID)
			}
			pg.Filter, pg.FilterSQL = e, g.Filter.SQL
		}
		ps.Grants = append(ps.Grants, pg)
	}
	for _, m := range s.Masks {
		pm := policy.ColumnMask{ID: m.ID, Database: m.Database, Table: m.Table, Column: m.Column,
			Mask: sqlsubset.Mask{Func: m.Function, Args: m.Args}}
		if m.Principal != nil {
			r := ref(*m.Principal)
			pm.Principal = &r
		}
		ps.Masks = append(ps.Masks, pm)
	}
	for _, u := range s.Unmasks {
		ps.Unmasks = append(ps.Unmasks, policy.Unmask{ID: u.ID, Principal: ref(u.Principal),
			Database: u.Database, Table: u.Table, Column: u.Column, Tag: u.Tag})
	}
	for _, p := range s.Policies {
		mask := sqlsubset.Mask{Func: p.MaskFunction, Args: p.MaskArgs}
		switch p.Kind {
		case store.TagMask:
			ps.TagPolicies = append(ps.TagPolicies, policy.TagPolicy{Name: p.Name, TagPattern: p.TagPattern, Mask: mask, UnlessUnmaskTag: p.UnlessUnmaskTag})
		case store.SafeguardMask:
			ps.Safeguards = append(ps.Safeguards, policy.Safeguard{Name: p.Name, TagPattern: p.TagPattern, Mask: mask})
		case store.SafeguardFilter:
			e, err := sqlsubset.Unmarshal([]byte(p.FilterExpression))
			if err != nil {
				return nil, apierr.Wrap(apierr.Internal, err, "safeguard policy %s has an unreadable filter", p.Name)
			}
			ps.Safeguards = append(ps.Safeguards, policy.Safeguard{Name: p.Name, Database: p.Database, Table: p.Table, Filter: e, FilterSQL: p.FilterSQL})
		default:
			return nil, apierr.New(apierr.Internal, "policy %s has unknown kind %q", p.Name, p.Kind)
		}
	}
	return ps, nil
}

func ref(r store.PrincipalRef) policy.Ref {
	return policy.Ref{Kind: string(r.Kind), Name: r.Name}
}

func tableKey(db, t string) string { return fmt.Sprintf("%s.%s", db, t) }
