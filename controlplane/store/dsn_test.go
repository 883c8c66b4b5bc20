package store

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	cases := []struct {
		d    Dialect
		dsn  string
		want string
	}{
		{Postgres, "postgres://u:hunter2@db:5432/x?sslmode=disable", "postgres://u:xxxxx@db:5432/x?sslmode=disable"},
		{Postgres, "postgresql://u:p%40ss@db/x", "postgresql://u:xxxxx@db/x"},
		{Postgres, "postgres://u@db/x?password=hunter2", "postgres://u@db/x?password=xxxxx"},
		{Postgres, "postgres://u@db/x", "postgres://u@db/x"},
		{Postgres, "host=db user=u password=hunter2 dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{Postgres, "host=db password = 'hun ter2' dbname=x", "host=db password=xxxxx dbname=x"},
		{Postgres, "host=db sslpassword=hunter2", "host=db sslpassword=xxxxx"},
		{Postgres, "postgres://u:hunter2@[::1/x", "[unparseable postgres DSN]"},
		{MySQL, "u:hunter2@tcp(db:3306)/x?parseTime=true", "u:xxxxx@tcp(db:3306)/x?parseTime=true"},
		{MySQL, "u:hun@ter2@tcp(db:3306)/x", "u:xxxxx@tcp(db:3306)/x"},
		{MySQL, "root@tcp(127.0.0.1:3306)/", "root@tcp(127.0.0.1:3306)/"},
		{MySQL, "u:hunter2@tcp(db:3306)", "[unparseable mysql DSN]"},
		{SQLite, "./data/nscale.db", "./data/nscale.db"},
	}
	for _, tc := range cases {
		got := RedactDSN(tc.d, tc.dsn)
		if got != tc.want {
			t.Errorf("RedactDSN(%s, %q) = %q, want %q", tc.d, tc.dsn, got, tc.want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "ter2") {
			t.Errorf("RedactDSN(%s, %q) = %q shows the password", tc.d, tc.dsn, got)
		}
	}
}

func TestScrub(t *testing.T) {
	cause := errors.New("dial user:p@ss/w0rd and p%40ss%2Fw0rd failed")
	err := scrub(cause, "p@ss/w0rd")
	if strings.Contains(err.Error(), "w0rd") {
		t.Fatalf("scrubbed error %q shows the password", err)
	}
	if !errors.Is(err, cause) {
		t.Fatal("scrub lost the cause")
	}
}

func TestRebind(t *testing.T) {
	cases := []struct {
		d        Dialect
		in, want string
	}{
		{Postgres, "SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"},
		{Postgres, "SELECT '?' FROM t WHERE x = ?", "SELECT '?' FROM t WHERE x = $1"},
		{Postgres, "SELECT 1", "SELECT 1"},
		{SQLite, "SELECT ? , ?", "SELECT ? , ?"},
		{MySQL, "SELECT ?", "SELECT ?"},
	}
	for _, tc := range cases {
		if got := Rebind(tc.d, tc.in); got != tc.want {
			t.Errorf("Rebind(%s, %q) = %q, want %q", tc.d, tc.in, got, tc.want)
		}
	}
}
