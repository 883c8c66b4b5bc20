package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
)

// TestAuditAnyStatement: whatever text an actor sends (a NUL byte in a
// comment, invalid UTF-8, more than 1 MiB), its audit event is written, with
// the text escaped or truncated and the original's length and hash.
func TestAuditAnyStatement(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		huge := "SELECT * FROM db.t /*" + strings.Repeat("x", 2<<20) + "*/"
		cases := []struct {
			name, stmt string
			keep       string // must be in the stored text
			truncated  bool
		}{
			{"nul", "SELECT * FROM db.t /* a\x00b */ WHERE a = '\\'", `/* a\x00b */ WHERE a = '\\'`, false},
			{"invalid utf-8", "SELECT '\xff\xfe' FROM db.t", `SELECT '\xff\xfe' FROM db.t`, false},
			{"over 1 MiB", huge, "SELECT * FROM db.t /*xxx", true},
			{"plain", "SELECT 'ünï' FROM db.t", "SELECT 'ünï' FROM db.t", false},
		}
		for _, c := range cases {
			var e store.AuditEvent
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				e, err = tx.AppendAudit(ctx, store.AuditEvent{Actor: "mallory", Action: "query.plan", Outcome: "denied",
					Statement: c.stmt, Detail: json.RawMessage(`{"code":"INVALID_ARGUMENT"}`)})
				return err
			})
			if err != nil {
				t.Fatalf("%s: the event was not written: %v", c.name, err)
			}
			got, _, err := s.ListAudit(ctx, store.Page{PageSize: 1})
			if err != nil || len(got) != 1 || got[0].ID != e.ID {
				t.Fatalf("%s: read back %v, %v", c.name, got, err)
			}
			stored := got[0]
			if !strings.Contains(stored.Statement, c.keep) {
				t.Fatalf("%s: stored statement %.200q lacks %q", c.name, stored.Statement, c.keep)
			}
			var detail map[string]any
			if err := json.Unmarshal(stored.Detail, &detail); err != nil {
				t.Fatalf("%s: detail %s: %v", c.name, stored.Detail, err)
			}
			if detail["code"] != "INVALID_ARGUMENT" {
				t.Fatalf("%s: the caller's detail was lost: %s", c.name, stored.Detail)
			}
			if c.name == "plain" {
				if stored.Statement != c.stmt || detail["statement_sha256"] != nil {
					t.Fatalf("a plain statement was altered: %q %s", stored.Statement, stored.Detail)
				}
				continue
			}
			sum := sha256.Sum256([]byte(c.stmt))
			if detail["statement_sha256"] != hex.EncodeToString(sum[:]) || detail["statement_bytes"] != float64(len(c.stmt)) {
				t.Fatalf("%s: detail %s lacks the original's hash and length %d", c.name, stored.Detail, len(c.stmt))
			}
			if (detail["statement_truncated"] == true) != c.truncated || (c.truncated && len(stored.Statement) > 70<<10) {
				t.Fatalf("%s: truncated=%v, stored %d bytes", c.name, detail["statement_truncated"], len(stored.Statement))
			}
		}
	})
}
