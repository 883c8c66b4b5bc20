package agentrpc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nscale/nscale/controlplane/planner"
	"github.com/nscale/nscale/controlplane/statement"
	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/internal/agentapi"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/sqlsubset"
	"github.com/nscale/nscale/internal/taskplan"
)

// Authenticate resolves a user's token for the agent (it caches the answer
// briefly and binds tickets to it).
func (s *Service) Authenticate(ctx context.Context, req *agentapi.AuthenticateRequest) (*agentapi.AuthenticateResponse, error) {
	user, err := s.user(ctx, req.GetUserToken())
	if err != nil {
		return nil, err
	}
	return &agentapi.AuthenticateResponse{Principal: user}, nil
}

// PageInterval is how long Plan lets a page of tickets wait for more: a
// page is sent when it holds the page size, or when a ticket is added at
// least PageInterval after the previous message, so that the first tickets
// of a table of many files are not held until the planner has signed a
// whole page.
const PageInterval = 10 * time.Millisecond

// Plan streams the header, then pages of tickets as the planner signs them
// (full pages, or whatever PageInterval has gathered), then the totals.
// Every plan, refused or not, is audited as query.plan.
func (s *Service) Plan(req *agentapi.PlanRequest, stream agentapi.Agent_PlanServer) error {
	ctx, user, err := s.userCtx(stream.Context(), req.GetUserToken())
	if err != nil {
		return err
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		size = MaxPageSize
	}
	start := s.now()
	var plan *planner.Plan
	if n := len(req.GetSql()); n > agentapi.MaxStatementBytes {
		err = apierr.New(apierr.InvalidArgument, "the statement is %d bytes; at most %d are accepted", n, agentapi.MaxStatementBytes)
	} else {
		plan, err = s.stream(ctx, stream, user, req, size)
	}
	s.m.planSeconds.Observe(time.Since(start).Seconds())
	// The audit event is written before the totals: an agent uses no
	// ticket of a plan whose totals did not arrive, so a plan that cannot
	// be audited is not served (fail closed).
	if aerr := s.auditPlan(ctx, user, req, plan, err); aerr != nil {
		s.log.Error("cannot write the audit event of a plan; the plan is refused", "user", user, "error", aerr)
		if err == nil {
			err = apierr.Wrap(apierr.Unavailable, aerr, "the plan cannot be audited, so it is not served; try again")
		}
	}
	if err == nil {
		err = stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Totals{Totals: &agentapi.PlanTotals{
			Tasks: int64(plan.Tasks), Files: int64(plan.Files), PrunedFiles: int64(plan.PrunedFiles)}}})
	}
	return err
}

// stream plans req and sends the header and the ticket pages (full pages,
// or whatever PageInterval has gathered); Plan sends the totals.
func (s *Service) stream(ctx context.Context, stream agentapi.Agent_PlanServer, user string, req *agentapi.PlanRequest, size int) (*planner.Plan, error) {
	var page [][]byte
	var lastSend time.Time
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		err := stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Tickets{Tickets: &agentapi.Tickets{Tickets: page}}})
		page, lastSend = nil, s.now()
		return err
	}
	plan, err := s.cfg.Planner.Stream(ctx, user, req.GetSql(), s.planOptions(ctx, req),
		func(p *planner.Plan) error {
			err := stream.Send(&agentapi.PlanPage{Page: &agentapi.PlanPage_Header{Header: &agentapi.PlanHeader{
				QueryId: p.QueryID, Principal: user, Table: p.Table, Columns: columns(p.Schema), PolicyVersion: p.PolicyVersion,
			}}})
			lastSend = s.now()
			return err
		},
		func(t []byte) error {
			page = append(page, t)
			s.m.tasksPlanned.Inc()
			if len(page) >= size || s.now().Sub(lastSend) >= PageInterval {
				return flush()
			}
			return nil
		})
	if err == nil {
		err = flush()
	}
	return plan, err
}

func (s *Service) auditPlan(ctx context.Context, user string, req *agentapi.PlanRequest, plan *planner.Plan, err error) error {
	detail := map[string]any{"schema_only": req.GetSchemaOnly()}
	e := store.AuditEvent{Actor: user, Action: "query.plan", Statement: req.GetSql(), Outcome: outcome(err)}
	if plan == nil {
		// A refused plan still names the table it was for, when the SQL
		// parses: a reviewer looks for attempts on a table.
		if q, perr := statement.ParseQuery(req.GetSql()); perr == nil {
			e.Target = "table " + q.Table.Database + "." + q.Table.Table
		}
	}
	if plan != nil {
		e.Target = "table " + plan.Table
		e.RequestID = plan.QueryID
		detail["query_id"] = plan.QueryID
		detail["tasks"], detail["files"], detail["pruned_files"] = plan.Tasks, plan.Files, plan.PrunedFiles
	}
	if err != nil && !cancelled(err) {
		detail["code"], detail["message"] = string(apierr.CodeOf(err)), apierr.PublicMessage(err)
	}
	e.Detail, _ = json.Marshal(detail)
	return s.cfg.Catalog.Record(ctx, e)
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case cancelled(err):
		return "cancelled"
	case apierr.Is(err, apierr.PermissionDenied), apierr.Is(err, apierr.Unauthenticated):
		return "denied"
	}
	return "failed"
}

type maskJSON struct {
	Func string  `json:"func"`
	Args []int64 `json:"args,omitempty"`
}

func columns(cols []taskplan.Column) []*agentapi.Column {
	out := make([]*agentapi.Column, len(cols))
	for i, c := range cols {
		out[i] = &agentapi.Column{Name: c.OutputName(), Type: c.Type, MaskJson: maskString(c.Mask)}
	}
	return out
}

func maskString(m *sqlsubset.Mask) string {
	if m == nil {
		return ""
	}
	b, _ := json.Marshal(maskJSON{Func: m.Func, Args: m.Args})
	return string(b)
}

// Catalog lists what the user may see, for Flight SQL metadata.
func (s *Service) Catalog(ctx context.Context, req *agentapi.CatalogRequest) (*agentapi.CatalogResponse, error) {
	ctx, user, err := s.userCtx(ctx, req.GetUserToken())
	if err != nil {
		return nil, err
	}
	dbs, tables, err := s.cfg.Catalog.Visible(ctx, user)
	if err != nil {
		return nil, err
	}
	resp := &agentapi.CatalogResponse{Databases: dbs}
	for _, t := range tables {
		ct := &agentapi.CatalogTable{Database: t.Database, Name: t.Name}
		for _, c := range t.Columns {
			ct.Columns = append(ct.Columns, &agentapi.Column{Name: c.Name, Type: c.Type.String(), MaskJson: maskString(c.Mask)})
		}
		resp.Tables = append(resp.Tables, ct)
	}
	return resp, nil
}

// PublicKeys lists every key that verifies tickets, current and retired.
func (s *Service) PublicKeys(context.Context, *agentapi.PublicKeysRequest) (*agentapi.PublicKeysResponse, error) {
	resp := &agentapi.PublicKeysResponse{}
	for id, pub := range s.cfg.Signer.PublicKeys() {
		resp.Keys = append(resp.Keys, &agentapi.PublicKey{KeyId: id, Ed25519: pub})
	}
	return resp, nil
}

// MaskingKey hands agents the key of keyed masks.
func (s *Service) MaskingKey(context.Context, *agentapi.MaskingKeyRequest) (*agentapi.MaskingKeyResponse, error) {
	return &agentapi.MaskingKeyResponse{Key: s.cfg.MaskingKey}, nil
}

// planOptions binds the tickets to the calling agent and marks them single
// use, as configured.
func (s *Service) planOptions(ctx context.Context, req *agentapi.PlanRequest) planner.Options {
	o := planner.Options{SchemaOnly: req.GetSchemaOnly(), SingleUse: s.cfg.SingleUseTickets}
	if id, ok := agentOf(ctx); ok && s.cfg.BindTickets {
		o.Agent = id.Agent
	}
	return o
}
