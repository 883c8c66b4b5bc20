package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

// Agent is an enrolled node agent as the registry knows it. Agents are not
// policy: enrolling, renewing, heartbeats and revocation leave the policy
// version alone.
type Agent struct {
	// ID is derived from the enrolment evidence (enrol.Identity.ID).
	ID       string
	NodeName string
	// Method is the enrolment method (join_token, kubernetes, aws_iid);
	// Subject is what it proved.
	Method  string
	Subject string
	// AgentVersion, Listeners and Health are the agent's last heartbeat.
	AgentVersion string
	Listeners    string
	Health       string
	// CertSerial and CertNotAfter are of the last certificate issued.
	CertSerial   string
	CertNotAfter time.Time
	EnrolledAt   time.Time
	LastSeenAt   time.Time
	RevokedAt    *time.Time
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const agentColumns = `id, node_name, method, subject, agent_version, listeners, health, cert_serial, cert_not_after,
	enrolled_at, last_seen_at, revoked_at, version, created_at, updated_at`

func scanAgent(sc scanner) (Agent, error) {
	var a Agent
	var notAfter, enrolled, seen, created, updated int64
	var revoked sql.NullInt64
	if err := sc.Scan(&a.ID, &a.NodeName, &a.Method, &a.Subject, &a.AgentVersion, &a.Listeners, &a.Health, &a.CertSerial,
		&notAfter, &enrolled, &seen, &revoked, &a.Version, &created, &updated); err != nil {
		return Agent{}, err
	}
	a.CertNotAfter, a.EnrolledAt, a.LastSeenAt = fromMicros(notAfter), fromMicros(enrolled), fromMicros(seen)
	a.RevokedAt, a.CreatedAt, a.UpdatedAt = timePtr(revoked), fromMicros(created), fromMicros(updated)
	return a, nil
}

func (a Agent) check() error {
	if err := checkName("agent", a.ID); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"agent node name", a.NodeName, maxNameLen}, {"agent method", a.Method, 32}, {"agent version", a.AgentVersion, 64},
		{"agent certificate serial", a.CertSerial, 64}, {"agent subject", a.Subject, 4096},
		{"agent listeners", a.Listeners, 4096}, {"agent health", a.Health, 4096}} {
		if len(f.v) > f.max {
			return apierr.New(apierr.InvalidArgument, "%s is longer than %d bytes", f.name, f.max)
		}
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// EnrolAgent records an enrolment and its first certificate. A new ID is
// added. An existing one is replaced only when replace is true (a join
// token's IDs are fresh, so that never happens for them) and the agent is
// neither revoked nor holding a certificate still valid at at: evidence
// that names one pod or instance for good then cannot mint a second
// identity beside a live one, and a revoked one never comes back. Both
// refusals are FailedPrecondition. The check and the write are one
// statement, so two replicas cannot both accept the same evidence.
func (tx *Tx) EnrolAgent(ctx context.Context, a Agent, replace bool, at time.Time) (Agent, error) {
	if err := a.check(); err != nil {
		return Agent{}, err
	}
	t := now()
	// Read first: on PostgreSQL a failed INSERT aborts the transaction, so
	// the refusal's reason must be known before trying.
	prev, err := tx.GetAgent(ctx, a.ID)
	switch {
	case err == nil && prev.RevokedAt != nil:
		return Agent{}, apierr.New(apierr.FailedPrecondition, "agent %s was revoked; it cannot enrol again", a.ID)
	case err == nil && (!replace || prev.CertNotAfter.After(at)):
		return Agent{}, apierr.New(apierr.FailedPrecondition,
			"agent %s is already enrolled with a certificate valid until %s: the same evidence cannot enrol a second agent (revoke the first, or wait for its certificate to expire)",
			a.ID, prev.CertNotAfter.Format(time.RFC3339))
	case err == nil:
		res, err := tx.q().exec(ctx, `UPDATE agents SET node_name = ?, method = ?, subject = ?, agent_version = ?, listeners = ?,
			health = ?, cert_serial = ?, cert_not_after = ?, enrolled_at = ?, last_seen_at = ?, version = version + 1, updated_at = ?
			WHERE id = ? AND revoked_at IS NULL AND cert_not_after <= ?`,
			a.NodeName, a.Method, a.Subject, a.AgentVersion, a.Listeners, a.Health, a.CertSerial, micros(a.CertNotAfter),
			micros(t), micros(t), micros(t), a.ID, micros(at))
		if err != nil {
			return Agent{}, tx.s.dbErr(err, "enrol agent")
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return Agent{}, apierr.New(apierr.FailedPrecondition, "agent %s enrolled or was revoked at the same time; try again", a.ID)
		}
		return tx.GetAgent(ctx, a.ID)
	case !apierr.Is(err, apierr.NotFound):
		return Agent{}, err
	}
	_, err = tx.q().exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1, ?, ?)`,
		a.ID, a.NodeName, a.Method, a.Subject, a.AgentVersion, a.Listeners, a.Health, a.CertSerial, micros(a.CertNotAfter),
		micros(t), micros(t), micros(t), micros(t))
	if classify(err) == errUnique {
		return Agent{}, apierr.New(apierr.FailedPrecondition, "agent %s enrolled at the same time from elsewhere", a.ID)
	}
	if err != nil {
		return Agent{}, tx.s.writeErr(err, "agent", a.ID)
	}
	return tx.GetAgent(ctx, a.ID)
}

// RenewAgent records a renewed certificate. A revoked or unknown agent is
// FailedPrecondition (revoked) or NotFound.
func (tx *Tx) RenewAgent(ctx context.Context, id, serial string, notAfter time.Time) (Agent, error) {
	t := now()
	res, err := tx.q().exec(ctx, `UPDATE agents SET cert_serial = ?, cert_not_after = ?, last_seen_at = ?, version = version + 1,
		updated_at = ? WHERE id = ? AND revoked_at IS NULL`, serial, micros(notAfter), micros(t), micros(t), id)
	if err != nil {
		return Agent{}, tx.s.dbErr(err, "renew agent")
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return tx.GetAgent(ctx, id)
	}
	a, err := tx.GetAgent(ctx, id)
	if err != nil {
		return Agent{}, err
	}
	return a, apierr.New(apierr.FailedPrecondition, "agent %s is revoked", id)
}

// HeartbeatAgent records an agent's version, listeners and health as seen
// now. It does not write for a revoked or unknown agent.
func (s *Store) HeartbeatAgent(ctx context.Context, id, version, listeners, health string) error {
	a := Agent{ID: id, AgentVersion: version, Listeners: listeners, Health: health}
	if err := a.check(); err != nil {
		return err
	}
	t := micros(now())
	_, err := s.q().exec(ctx, `UPDATE agents SET agent_version = ?, listeners = ?, health = ?, last_seen_at = ?
		WHERE id = ? AND revoked_at IS NULL`, version, listeners, health, t, id)
	return s.dbErr(err, "record agent heartbeat")
}

// RevokeAgent marks the agent revoked now (keeping a first revocation
// time) and returns it; a missing agent is NotFound.
func (tx *Tx) RevokeAgent(ctx context.Context, id string) (Agent, error) {
	t := micros(now())
	if _, err := tx.q().exec(ctx, `UPDATE agents SET revoked_at = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND revoked_at IS NULL`, t, t, id); err != nil {
		return Agent{}, tx.s.dbErr(err, "revoke agent")
	}
	return tx.GetAgent(ctx, id)
}

// RevokedAgents lists the IDs of every revoked agent (each replica keeps
// the set in memory and refreshes it).
func (s *Store) RevokedAgents(ctx context.Context) ([]string, error) {
	out, err := queryAll(ctx, s.q(), func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, "SELECT id FROM agents WHERE revoked_at IS NOT NULL ORDER BY id")
	return out, s.dbErr(err, "list revoked agents")
}

// ListAgents returns one page of agents in ID order.
func (s *Store) ListAgents(ctx context.Context, p Page) ([]Agent, string, error) {
	cur, err := p.open("agents", 1)
	if err != nil {
		return nil, "", err
	}
	q, args := "SELECT "+agentColumns+" FROM agents", []any{}
	if cur.after != nil {
		q, args = q+" WHERE id > ?", append(args, cur.after[0])
	}
	out, err := queryAll(ctx, s.q(), scanAgent, q+" ORDER BY id LIMIT ?", append(args, cur.fetch())...)
	if err != nil {
		return nil, "", s.dbErr(err, "list agents")
	}
	out, next := endPage(cur, out, func(last Agent) []string { return []string{last.ID} })
	return out, next, nil
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

// CountAgents counts the unrevoked agents last seen at or after seenSince;
// the zero time counts them all.
func (s *Store) CountAgents(ctx context.Context, seenSince time.Time) (int, error) {
	var n int
	err := s.q().queryRow(ctx, "SELECT COUNT(*) FROM agents WHERE revoked_at IS NULL AND last_seen_at >= ?", micros(seenSince)).Scan(&n)
	return n, s.dbErr(err, "count agents")
}
