package store

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Every dialect has the same numbered migrations, ending at
// LatestSchemaVersion, and each creates the same tables.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	var want, wantTables []string
	createTable := regexp.MustCompile(`(?i)^CREATE TABLE (?:IF NOT EXISTS )?(\w+)`)
	dropTable := regexp.MustCompile(`(?i)^DROP TABLE (?:IF EXISTS )?(\w+)`)
	renameTable := regexp.MustCompile(`(?i)^ALTER TABLE (\w+) RENAME TO (\w+)`)
	for _, d := range AllDialects() {
		ms, err := migrations(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var got, tables []string
		for _, m := range ms {
			got = append(got, m.name)
			// The tables that exist after the migrations: a table may be
			// rebuilt (created under another name, the old one dropped,
			// the new one renamed).
			for _, st := range m.statements {
				st = strings.TrimSpace(st)
				if sm := createTable.FindStringSubmatch(st); sm != nil {
					tables = append(tables, sm[1])
				}
				if sm := dropTable.FindStringSubmatch(st); sm != nil {
					tables = slices.DeleteFunc(tables, func(t string) bool { return t == sm[1] })
				}
				if sm := renameTable.FindStringSubmatch(st); sm != nil {
					for i, t := range tables {
						if t == sm[1] {
							tables[i] = sm[2]
						}
					}
				}
			}
		}
		sort.Strings(tables)
		// MySQL's re-runnable DDL may create a table twice (once per
		// CREATE TABLE IF NOT EXISTS after a conditional rename).
		tables = slices.Compact(tables)
		if len(tables) < 15 {
			t.Fatalf("%s creates only %v", d, tables)
		}
		if wantTables == nil {
			wantTables = tables
		} else if !reflect.DeepEqual(tables, wantTables) {
			t.Fatalf("%s creates tables %v, want %v", d, tables, wantTables)
		}
		if ms[len(ms)-1].version != LatestSchemaVersion {
			t.Fatalf("%s: last migration %d, LatestSchemaVersion %d", d, ms[len(ms)-1].version, LatestSchemaVersion)
		}
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s migrations %v, want %v", d, got, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	body := "-- comment; with a semicolon\nCREATE TABLE a (\n  x INT -- trailing\n);\n\nINSERT INTO a VALUES (1);\nSELECT 1"
	got := splitStatements(body)
	want := []string{"CREATE TABLE a (\n  x INT -- trailing\n)", "INSERT INTO a VALUES (1)", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
}

func TestPageToken(t *testing.T) {
	tok := encodePageToken("databases", "sales")
	key, err := decodePageToken("databases", tok, 1)
	if err != nil || !reflect.DeepEqual(key, []string{"sales"}) {
		t.Fatalf("round trip: %v, %v", key, err)
	}
	for _, bad := range []struct {
		list string
		n    int
	}{{"principals", 1}, {"databases", 2}} {
		if _, err := decodePageToken(bad.list, tok, bad.n); err == nil {
			t.Errorf("token accepted by list %s with %d keys", bad.list, bad.n)
		}
	}
}
