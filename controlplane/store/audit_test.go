package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func TestAudit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		t0 := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
		var appended []store.AuditEvent
		// 12 events one second apart, then 7 in the same microsecond: ties
		// must neither repeat nor vanish across pages.
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := range 19 {
				at := t0.Add(time.Duration(min(i, 12)) * time.Second)
				e, err := tx.AppendAudit(ctx, store.AuditEvent{
					Time: at, Actor: "alice", Action: "database.create", Target: fmt.Sprintf("database db%d", i),
					Outcome: "ok", Statement: "CREATE DATABASE db", Detail: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`),
					PolicyVersionBefore: int64(i), PolicyVersionAfter: int64(i + 1), RequestID: fmt.Sprintf("req-%d", i),
				})
				if err != nil {
					return err
				}
				appended = append(appended, e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 5, 7, 19, 50} {
			var got []store.AuditEvent
			tok := ""
			for pages := 0; ; pages++ {
				if pages > 25 {
					t.Fatalf("size %d: pagination does not end", size)
				}
				page, next, err := s.ListAudit(ctx, store.Page{PageSize: size, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if tok = next; tok == "" {
					break
				}
			}
			if len(got) != len(appended) {
				t.Fatalf("size %d: listed %d events, want %d", size, len(got), len(appended))
			}
			seen := map[string]bool{}
			for i, e := range got {
				if seen[e.ID] {
					t.Fatalf("size %d: event %s listed twice", size, e.ID)
				}
				seen[e.ID] = true
				if i > 0 && e.Time.After(got[i-1].Time) {
					t.Fatalf("size %d: not newest first at %d: %v after %v", size, i, e.Time, got[i-1].Time)
				}
			}
			// Events appended in one microsecond come newest first too (ids are time-ordered).
			if !reflect.DeepEqual(got[0], appended[18]) || !reflect.DeepEqual(got[len(got)-1], appended[0]) {
				t.Fatalf("size %d: first %+v\nwant %+v\nlast %+v\nwant %+v", size, got[0], appended[18], got[len(got)-1], appended[0])
			}
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.AppendAudit(ctx, store.AuditEvent{Action: "x", Detail: json.RawMessage("{not json")})
			return err
		})
		apierrtest.Code(t, "", err, apierr.InvalidArgument, "")
		err = s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.AppendAudit(ctx, store.AuditEvent{})
			return err
		})
		apierrtest.Code(t, "", err, apierr.InvalidArgument, "")
	})
}
