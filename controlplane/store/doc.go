// Package store is the control plane's one SQL store: the data-lake catalog,
// principals and policy, agents and the audit log, on SQLite (the embedded
// default), PostgreSQL or MySQL/MariaDB.
//
// Open connects, checks the schema and applies the embedded, numbered,
// forward-only migrations (migrations/<dialect>/NNNN_name.sql). Every write
// goes through InTx, which retries transient failures (busy, deadlock,
// serialization) a bounded number of times; every policy change bumps the
// global policy version in the same transaction (Tx.BumpPolicyVersion).
//
// Mutable rows carry a version for optimistic concurrency: an update or delete
// names the version it read and fails with apierr.Conflict if the row moved on.
// Ids are UUID strings made in Go and times are BIGINT unix microseconds (UTC)
// so that every dialect behaves the same.
package store
