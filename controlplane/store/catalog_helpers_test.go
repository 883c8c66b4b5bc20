package store_test

import (
	"context"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

// mustTx runs fn in a transaction and fails the test on error.
func mustTx(t *testing.T, s *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// ordersTable is a table definition of database db used across tests.
func ordersTable(db string) store.Table {
	return store.Table{
		Database:      db,
		Name:          "orders",
		Location:      "s3://lake/" + db + "/orders/",
		Format:        store.FormatParquet,
		FormatOptions: map[string]string{"compression": "snappy"},
		Properties:    map[string]string{"owner": "team-a"},
		Comment:       "Orders ✓",
		Columns: []store.Column{
			{Name: "id", Type: "int64"},
			{Name: "amount", Type: "decimal128(10,2)", Nullable: true, Comment: "in EUR"},
			{Name: "email", Type: "utf8", Nullable: true},
			{Name: "ts", Type: "timestamp(us, UTC)"},
			{Name: "info", Type: "struct<a:int32>", Nullable: true},
			{Name: "region", Type: "utf8", IsPartition: true},
		},
	}
}

func createTable(t *testing.T, s *store.Store, tbl store.Table) store.Table {
	t.Helper()
	var out store.Table
	mustTx(t, s, func(tx *store.Tx) error {
		var err error
		out, err = tx.CreateTable(context.Background(), tbl)
		return err
	})
	return out
}

// count is the number of rows of a table, read bypassing the store.
func count(t *testing.T, cfg store.Config, query string, args ...any) int64 {
	t.Helper()
	return storetest.QueryInt(t, cfg, query, args...)
}

// policyVersion reads the policy version or fails.
func policyVersion(t *testing.T, s *store.Store) int64 {
	t.Helper()
	v, err := s.PolicyVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func refPtr(kind store.PrincipalKind, name string) *store.PrincipalRef {
	r := ref(kind, name)
	return &r
}
