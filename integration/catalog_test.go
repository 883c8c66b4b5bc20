//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nscale/nscale/internal/parquettest"
	"github.com/nscale/nscale/internal/s3test"
)

// parquetFile writes a small transactions file.
func parquetFile(t *testing.T, rows int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "card", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("user@example.com")
		b.Field(2).(*array.StringBuilder).Append("4111111111111111")
		b.Field(3).(*array.StringBuilder).Append([]string{"DE", "FR", "US"}[i%3])
		b.Field(4).(*array.Decimal128Builder).Append(arrowDecimal(int64(i * 100)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return parquettest.FileWith(t, nil, pqarrow.DefaultWriterProps(), rec)
}

// The "done when": with nscalectl only, a newcomer creates a database
// and a partitioned Parquet table on versitygw, grants it to a role with a
// row filter and two masks, and sees with explain what an analyst gets.
func TestNewcomerCatalogFlowOnVersitygw(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	for _, dt := range []string{"2024-05-06", "2024-05-07"} {
		srv.PutObject(t, "lake", "sales/tx/dt="+dt+"/part-0.parquet", parquetFile(t, 30))
	}
	srv.PutObject(t, "lake", "sales/tx/_SUCCESS", nil)

	dir := t.TempDir()
	creds := filepath.Join(dir, "s3.yaml")
	_ = os.WriteFile(creds, []byte("access_key_id: "+srv.AccessKey+"\nsecret_access_key: "+srv.SecretKey+"\n"), 0o600)
	cfg := filepath.Join(dir, "cp.yaml")
	_ = os.WriteFile(cfg, []byte("s3:\n  region: us-east-1\n  endpoint: "+srv.Endpoint+"\n  path_style: true\n  credentials_file: "+creds+"\n"), 0o600)
	d, api, _ := startControlPlane(t, dir, nil, "--config", cfg)
	tokenFile := filepath.Join(dir, "data", "admin.token")
	ctl := func(token string, args ...string) (string, string, int) {
		return runCmd(t, dir, []string{"NSCALE_SERVER=http://" + api, "NSCALE_TOKEN_FILE=" + token}, "nscalectl", args...)
	}

	script := filepath.Join(dir, "setup.sql")
	_ = os.WriteFile(script, []byte(`
		CREATE DATABASE sales COMMENT 'card transactions';
		CREATE EXTERNAL TABLE sales.tx PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 's3://lake/sales/tx/';
		CREATE ROLE analyst;
		GRANT SELECT ON TABLE sales.tx TO ROLE analyst WHERE country = 'DE';
		ALTER TABLE sales.tx ALTER COLUMN email SET MASK email_domain FOR ROLE analyst;
		ALTER TABLE sales.tx ALTER COLUMN card SET MASK show_last(4) FOR ROLE analyst;
		GRANT ROLE analyst TO USER alice;
	`), 0o600)
	out, errOut, code := ctl(tokenFile, "sql", "-f", script)
	if code != 0 {
		t.Fatalf("setup exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "created table `sales`.`tx`") && !strings.Contains(out, "created table sales.tx") {
		t.Logf("setup output:\n%s", out)
	}
	if !strings.Contains(out, "2 files") {
		t.Errorf("table should have 2 data files (_SUCCESS skipped):\n%s", out)
	}

	out, errOut, code = ctl(tokenFile, "sql", "DESCRIBE sales.tx")
	for _, want := range []string{"id", "int64", "email", "amount", "decimal128(10,2)", "dt", "date32", "email_domain for role analyst", "show_last(4) for role analyst"} {
		if !strings.Contains(out, want) {
			t.Errorf("DESCRIBE lacks %q (exit %d %s):\n%s", want, code, errOut, out)
		}
	}

	out, errOut, code = ctl(tokenFile, "explain", "--user", "alice", "sales.tx")
	if code != 0 {
		t.Fatalf("explain exit %d: %s", code, errOut)
	}
	for _, want := range []string{"email_domain", "show_last(4)", "country = 'DE'", "analyst"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}

	_, errOut, code = ctl(tokenFile, "sql", `ALTER TABLE sales.tx ALTER COLUMN email SET TAGS ('pii.email');
		CREATE TAG POLICY pii_hash ON TAG 'pii.*' MASK hash UNLESS UNMASK 'pii';
		GRANT UNMASK ON COLUMN sales.tx.card TO ROLE analyst`)
	if code != 0 {
		t.Fatalf("tags and policies exit %d: %s", code, errOut)
	}
	_, errOut, code = ctl(tokenFile, "sql", "CREATE EXTERNAL TABLE sales.tx_hadoop PARTITIONED BY (dt date) STORED AS PARQUET LOCATION 's3a://lake/sales/tx'")
	if code != 0 {
		t.Fatalf("s3a table exit %d: %s", code, errOut)
	}
	out, _, _ = ctl(tokenFile, "tables", "sales")
	if !strings.Contains(out, "sales.tx_hadoop  parquet  6        s3://lake/sales/tx/") {
		t.Errorf("s3a:// location not stored as s3://:\n%s", out)
	}
	out, _, _ = ctl(tokenFile, "policies")
	if !strings.Contains(out, "pii_hash") || !strings.Contains(out, "tag_mask") {
		t.Errorf("policies:\n%s", out)
	}
	out, _, _ = ctl(tokenFile, "masks", "sales.tx")
	if !strings.Contains(out, "email_domain") || !strings.Contains(out, "pii.email") {
		t.Errorf("masks:\n%s", out)
	}
	out, _, _ = ctl(tokenFile, "unmasks")
	if !strings.Contains(out, "sales") || !strings.Contains(out, "card") {
		t.Errorf("unmasks:\n%s", out)
	}
	// the column mask on email beats the tag policy; UNMASK lifts card's mask
	out, _, _ = ctl(tokenFile, "explain", "--user", "alice", "sales.tx")
	if !strings.Contains(out, "email_domain") || strings.Contains(out, "show_last(4)") {
		t.Errorf("explain after UNMASK:\n%s", out)
	}

	// alice gets a token, sees her view, and cannot change the catalog.
	out, errOut, code = ctl(tokenFile, "tokens", "create", "--user", "alice", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("tokens create exit %d: %s", code, errOut)
	}
	secret := strings.Fields(out)[0]
	aliceFile := filepath.Join(dir, "alice.token")
	_ = os.WriteFile(aliceFile, []byte(secret+"\n"), 0o600)
	out, errOut, code = ctl(aliceFile, "sql", "SHOW TABLES")
	if code != 0 || !strings.Contains(out, "tx") {
		t.Errorf("alice SHOW TABLES exit %d %s:\n%s", code, errOut, out)
	}
	_, errOut, code = ctl(aliceFile, "sql", "CREATE DATABASE mine")
	if code != 1 || !strings.Contains(errOut, "PERMISSION_DENIED") {
		t.Errorf("alice CREATE DATABASE exit %d: %s", code, errOut)
	}
	_, errOut, code = ctl(aliceFile, "explain", "--user", "alice", "sales.tx")
	if code != 1 || !strings.Contains(errOut, "PERMISSION_DENIED") {
		t.Errorf("alice explain exit %d: %s", code, errOut)
	}
	out, _, _ = ctl(tokenFile, "audit")
	if !strings.Contains(out, "denied") || !strings.Contains(out, "GRANT SELECT") || !strings.Contains(out, "CREATE TOKEN") {
		t.Errorf("audit trail:\n%s", out)
	}
	out, _, _ = ctl(tokenFile, "-o", "json", "tokens", "list", "--user", "alice")
	if strings.Contains(out, secret) {
		t.Error("tokens list shows the secret")
	}
	id := between(out, `"id": "`, `"`)
	if _, errOut, code := ctl(tokenFile, "tokens", "revoke", id); code != 0 {
		t.Fatalf("revoke exit %d: %s", code, errOut)
	}
	_, errOut, code = ctl(aliceFile, "sql", "SHOW TABLES")
	if code != 1 || !strings.Contains(errOut, "UNAUTHENTICATED") {
		t.Errorf("revoked token still works: exit %d %s", code, errOut)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.exit(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}
