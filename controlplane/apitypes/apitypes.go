// Package apitypes holds the REST admin API's wire types, shared by the
// server and nscalectl. It imports no project package so the CLI links none
// of the control plane.
package apitypes

import "time"

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
