package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Agent is an enrolled node agent as last seen by the control plane.
type Agent struct {
	// ID is the agent's enrolled identity; the caller chooses it.
	ID       string
	NodeName string
	// IdentityKind is how the agent proved where it runs, e.g. join-token,
	// k8s-sat or aws-iid; Identity is the proven subject.
	IdentityKind string
	Identity     string
	// AgentVersion is the agent's software version.
	AgentVersion string
	LastSeenAt   time.Time
	// Version is the row version; it increases with every upsert.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

const agentColumns = "id, node_name, identity_kind, identity, agent_version, last_seen_at, version, created_at, updated_at"

func scanAgent(sc scanner) (Agent, error) {
	var a Agent
	var seen, created, updated int64
	if err := sc.Scan(&a.ID, &a.NodeName, &a.IdentityKind, &a.Identity, &a.AgentVersion, &seen, &a.Version, &created, &updated); err != nil {
		return Agent{}, err
	}
	a.LastSeenAt, a.CreatedAt, a.UpdatedAt = fromMicros(seen), fromMicros(created), fromMicros(updated)
	return a, nil
}

// UpsertAgent records that an agent was seen: it adds the agent or replaces
// its node, identity, software version and last-seen time (now when
// LastSeenAt is zero). Agents are not policy: the policy version is kept.
func (tx *Tx) UpsertAgent(ctx context.Context, a Agent) (Agent, error) {
	if err := checkName("agent", a.ID); err != nil {
		return Agent{}, err
	}
	for field, v := range map[string]string{"agent node name": a.NodeName, "agent identity kind": a.IdentityKind, "agent version": a.AgentVersion} {
		if len(v) > 64 && field != "agent node name" || len(v) > maxNameLen {
			return Agent{}, apierr.New(apierr.InvalidArgument, "%s is too long", field)
		}
		if err := checkText(field, v); err != nil {
			return Agent{}, err
		}
	}
	if err := checkText("agent identity", a.Identity); err != nil {
		return Agent{}, err
	}
	t := now()
	if a.LastSeenAt.IsZero() {
		a.LastSeenAt = t
	}
	var query string
	switch tx.s.dialect {
	case MySQL:
		query = `INSERT INTO agents (` + agentColumns + `) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
			ON DUPLICATE KEY UPDATE node_name = VALUES(node_name), identity_kind = VALUES(identity_kind),
			identity = VALUES(identity), agent_version = VALUES(agent_version), last_seen_at = VALUES(last_seen_at),
			version = version + 1, updated_at = VALUES(updated_at)`
	default:
		query = `INSERT INTO agents (` + agentColumns + `) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET node_name = excluded.node_name, identity_kind = excluded.identity_kind,
			identity = excluded.identity, agent_version = excluded.agent_version, last_seen_at = excluded.last_seen_at,
			version = agents.version + 1, updated_at = excluded.updated_at`
	}
	if _, err := tx.q().exec(ctx, query, a.ID, a.NodeName, a.IdentityKind, a.Identity, a.AgentVersion,
		micros(a.LastSeenAt), micros(t), micros(t)); err != nil {
		return Agent{}, tx.s.writeErr(err, "agent", a.ID)
	}
	return tx.GetAgent(ctx, a.ID)
}

// GetAgent returns the agent or NotFound.
func (s *Store) GetAgent(ctx context.Context, id string) (Agent, error) {
	return s.q().getAgent(ctx, s, id)
}

// GetAgent returns the agent or NotFound.
func (tx *Tx) GetAgent(ctx context.Context, id string) (Agent, error) {
	return tx.q().getAgent(ctx, tx.s, id)
}

func (q querier) getAgent(ctx context.Context, s *Store, id string) (Agent, error) {
	a, err := scanAgent(q.queryRow(ctx, "SELECT "+agentColumns+" FROM agents WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Agent{}, notFound("agent", id)
	}
	return a, s.dbErr(err, "read agent")
}

// CountAgents counts the agents last seen at or after seenSince; the zero
// time counts them all.
func (s *Store) CountAgents(ctx context.Context, seenSince time.Time) (int, error) {
	var n int
	var err error
	if seenSince.IsZero() {
		err = s.q().queryRow(ctx, "SELECT COUNT(*) FROM agents").Scan(&n)
	} else {
		err = s.q().queryRow(ctx, "SELECT COUNT(*) FROM agents WHERE last_seen_at >= ?", micros(seenSince)).Scan(&n)
	}
	return n, s.dbErr(err, "count agents")
}
