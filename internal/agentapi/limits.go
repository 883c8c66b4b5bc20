package agentapi

// MaxStatementBytes bounds the SQL text of a plan. Agents refuse a longer
// statement before calling the control plane, and the control plane
// refuses (and audits) one that reaches it anyway: without the bound, a
// long statement fails on gRPC's message limit as an opaque transport
// error instead of a user mistake.
const MaxStatementBytes = 1 << 20
