// Package apitypes holds the REST admin API's wire types, shared by the
// server and nscalectl. It imports no project package so the CLI links none
// of the control plane.
package apitypes

import (
	"encoding/json"
	"time"
)

// Error is the body of every non-2xx answer.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// Status is GET /api/v1/status.
type Status struct {
	Service       string      `json:"service"`
	Version       string      `json:"version"`
	Code          string      `json:"code"`
	StoreDialect  string      `json:"store_dialect"`
	SchemaVersion int         `json:"schema_version"`
	StartedAt     time.Time   `json:"started_at"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	ReadOnly      bool        `json:"read_only"`
	AgentCount    int         `json:"agent_count"`
	Components    []Component `json:"components,omitempty"`
	// Agents (detail only) are the registry's agents that are not revoked,
	// LOST ones first, at most 1000.
	Agents []Agent `json:"agents,omitempty"`
}

// Component is one part's state in GET /api/v1/status?detail=true.
type Component struct {
	Name      string    `json:"name"`
	Code      string    `json:"code"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
	ElapsedMS float64   `json:"elapsed_ms"`
}

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// SQLRequest is POST /api/v1/sql: one or more ;-separated DDL/DCL statements.
type SQLRequest struct {
	SQL string `json:"sql"`
}

// SQLResponse holds one result per executed statement, in order.
type SQLResponse struct {
	Results []SQLResult `json:"results"`
}

// SQLResult is what one statement did: a message for changes, a table for
// SHOW and DESCRIBE.
type SQLResult struct {
	Statement     string     `json:"statement"`
	Message       string     `json:"message"`
	Columns       []string   `json:"columns,omitempty"`
	Rows          [][]string `json:"rows,omitempty"`
	PolicyVersion int64      `json:"policy_version"`
}

// Explain is GET /api/v1/explain: what a user gets from a table, and why.
type Explain struct {
	User   string `json:"user"`
	Table  string `json:"table"`
	Access bool   `json:"access"`
	// Text is the human-readable explanation (nscalectl explain prints it).
	Text string `json:"text"`
	// Effective is the machine-readable effective policy; null without access.
	Effective json.RawMessage `json:"effective"`
}

// TokenRequest is POST /api/v1/tokens.
type TokenRequest struct {
	User string `json:"user"`
	Name string `json:"name"`
	// TTL is a Go duration such as 24h.
	TTL string `json:"ttl"`
}

// Token describes a user token; Secret is set only in the answer to its
// creation and is never shown again.
type Token struct {
	ID         string     `json:"id"`
	User       string     `json:"user"`
	Name       string     `json:"name"`
	Secret     string     `json:"secret,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// TokenList is a page of tokens.
type TokenList struct {
	Tokens        []Token `json:"tokens"`
	NextPageToken string  `json:"next_page_token"`
}

// Principal is a user, group or role.
type Principal struct {
	Kind       string            `json:"kind"`
	Name       string            `json:"name"`
	Comment    string            `json:"comment"`
	MemberOf   []string          `json:"member_of,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Version    int64             `json:"version"`
	CreatedAt  time.Time         `json:"created_at"`
}

// PrincipalRequest is POST /api/v1/principals (users and groups).
type PrincipalRequest struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Comment string `json:"comment"`
}

// PrincipalList is a page of principals.
type PrincipalList struct {
	Principals    []Principal `json:"principals"`
	NextPageToken string      `json:"next_page_token"`
}

// AttributeRequest is PUT /api/v1/users/{user}/attributes/{key}.
type AttributeRequest struct {
	Value string `json:"value"`
}

// AuditEvent is one entry of the audit trail.
type AuditEvent struct {
	ID                  string          `json:"id"`
	Time                time.Time       `json:"time"`
	Actor               string          `json:"actor"`
	Action              string          `json:"action"`
	Target              string          `json:"target"`
	Outcome             string          `json:"outcome"`
	Statement           string          `json:"statement"`
	Detail              json.RawMessage `json:"detail"`
	PolicyVersionBefore int64           `json:"policy_version_before"`
	PolicyVersionAfter  int64           `json:"policy_version_after"`
	RequestID           string          `json:"request_id"`
}

// AuditList is a page of audit events, newest first.
type AuditList struct {
	Events        []AuditEvent `json:"events"`
	NextPageToken string       `json:"next_page_token"`
}

// Database is a catalog database.
type Database struct {
	Name      string    `json:"name"`
	Comment   string    `json:"comment"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// DatabaseList is a page of databases.
type DatabaseList struct {
	Databases     []Database `json:"databases"`
	NextPageToken string     `json:"next_page_token"`
}

// Column is a table column.
type Column struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Nullable  bool   `json:"nullable"`
	Partition bool   `json:"partition"`
	Comment   string `json:"comment"`
}

// Table is a catalog table.
type Table struct {
	Database      string            `json:"database"`
	Name          string            `json:"name"`
	Location      string            `json:"location"`
	Format        string            `json:"format"`
	FormatOptions map[string]string `json:"format_options"`
	Properties    map[string]string `json:"properties"`
	Comment       string            `json:"comment"`
	Columns       []Column          `json:"columns"`
	FilesListedAt *time.Time        `json:"files_listed_at"`
	Version       int64             `json:"version"`
	CreatedAt     time.Time         `json:"created_at"`
}

// TableList is a page of tables.
type TableList struct {
	Tables        []Table `json:"tables"`
	NextPageToken string  `json:"next_page_token"`
}

// Grant is a SELECT grant.
type Grant struct {
	ID        string    `json:"id"`
	Principal string    `json:"principal"`
	Privilege string    `json:"privilege"`
	On        string    `json:"on"`
	Columns   []string  `json:"columns"`
	Filter    string    `json:"filter"`
	GrantedBy string    `json:"granted_by"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// GrantList is a page of grants.
type GrantList struct {
	Grants        []Grant `json:"grants"`
	NextPageToken string  `json:"next_page_token"`
}

// Policy is a tag or safeguard policy.
type Policy struct {
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	TagPattern   string    `json:"tag_pattern"`
	Table        string    `json:"table"`
	Mask         string    `json:"mask"`
	UnlessUnmask string    `json:"unless_unmask"`
	Filter       string    `json:"filter"`
	Version      int64     `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
}

// PolicyList is a page of policies.
type PolicyList struct {
	Policies      []Policy `json:"policies"`
	NextPageToken string   `json:"next_page_token"`
}

// Mask is a column mask.
type Mask struct {
	ID        string    `json:"id"`
	Column    string    `json:"column"`
	Mask      string    `json:"mask"`
	Principal string    `json:"principal"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// TablePolicy is GET /api/v1/databases/{db}/tables/{table}/policy: the
// masks and tags written on one table.
type TablePolicy struct {
	Table string              `json:"table"`
	Masks []Mask              `json:"masks"`
	Tags  map[string][]string `json:"tags"`
}

// Unmask is an UNMASK grant on a column or a tag.
type Unmask struct {
	ID        string    `json:"id"`
	Principal string    `json:"principal"`
	Column    string    `json:"column"`
	Tag       string    `json:"tag"`
	CreatedAt time.Time `json:"created_at"`
}

// UnmaskList is a page of UNMASK grants.
type UnmaskList struct {
	Unmasks       []Unmask `json:"unmasks"`
	NextPageToken string   `json:"next_page_token"`
}

// JoinTokenRequest is POST /api/v1/join-tokens.
type JoinTokenRequest struct {
	// TTL is a Go duration, e.g. "1h" (at most 168h).
	TTL string `json:"ttl"`
	// Uses is how many agents the token may enrol (default 1).
	Uses    int    `json:"uses,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// JoinToken describes a join token; Secret is set only in the answer to
// its creation.
type JoinToken struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret,omitempty"`
	Comment   string     `json:"comment"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// JoinTokenList is a page of join tokens.
type JoinTokenList struct {
	JoinTokens    []JoinToken `json:"join_tokens"`
	NextPageToken string      `json:"next_page_token"`
}

// Agent states.
const (
	AgentActive  = "ACTIVE"
	AgentLost    = "LOST"
	AgentRevoked = "REVOKED"
)

// Agent is an enrolled agent in the registry.
type Agent struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	Method  string `json:"method"`
	Subject string `json:"subject"`
	Version string `json:"version"`
	// Listeners are the Flight SQL addresses of its last heartbeat.
	Listeners     []string   `json:"listeners"`
	Health        string     `json:"health"`
	State         string     `json:"state"`
	LastHeartbeat time.Time  `json:"last_heartbeat"`
	CertExpiresAt time.Time  `json:"cert_expires_at"`
	EnrolledAt    time.Time  `json:"enrolled_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
}

// AgentList is a page of agents.
type AgentList struct {
	Agents        []Agent `json:"agents"`
	NextPageToken string  `json:"next_page_token"`
}
