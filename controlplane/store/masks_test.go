package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func setMask(t *testing.T, s *store.Store, m store.Mask) store.Mask {
	t.Helper()
	var out store.Mask
	mustTx(t, s, func(tx *store.Tx) error {
		var err error
		out, err = tx.SetMask(context.Background(), m)
		return err
	})
	return out
}

func TestMasks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice := ref(store.User, "alice")
		createPrincipals(t, s, alice, ref(store.Group, "eng"))
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		other := ordersTable("sales")
		other.Name = "archive"
		createTable(t, s, other)

		everyone := setMask(t, s, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "redact"})
		if everyone.ID == "" || everyone.Version != 1 || everyone.Principal != nil || everyone.Args != nil || everyone.CreatedAt.IsZero() {
			t.Fatalf("created = %+v", everyone)
		}
		// Setting it again replaces function and arguments in place.
		replaced := setMask(t, s, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "last", Args: []int64{4, -1}})
		if replaced.ID != everyone.ID || replaced.Version != 2 || replaced.Function != "last" || !reflect.DeepEqual(replaced.Args, []int64{4, -1}) ||
			!replaced.CreatedAt.Equal(everyone.CreatedAt) {
			t.Fatalf("replaced = %+v", replaced)
		}
		forAlice := setMask(t, s, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "hash", Principal: &alice})
		if forAlice.ID == everyone.ID || forAlice.Principal == nil || *forAlice.Principal != alice || forAlice.Version != 1 {
			t.Fatalf("alice's mask = %+v", forAlice)
		}
		amount := setMask(t, s, store.Mask{Database: "sales", Table: "orders", Column: "amount", Function: "round", Args: []int64{-2}})
		archived := setMask(t, s, store.Mask{Database: "sales", Table: "archive", Column: "email", Function: "redact"})

		got, next, err := s.ListMasks(ctx, "sales", "orders", store.Page{})
		if err != nil || next != "" {
			t.Fatal(next, err)
		}
		// Column order, then creation order.
		if want := []store.Mask{amount, replaced, forAlice}; !reflect.DeepEqual(got, want) {
			t.Fatalf("masks of orders = %+v\nwant %+v", got, want)
		}
		var all []store.Mask
		tok := ""
		for {
			page, next, err := s.ListAllMasks(ctx, store.Page{PageSize: 1, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if tok = next; tok == "" {
				break
			}
		}
		if len(all) != 4 || !containsMask(all, archived) || !containsMask(all, forAlice) {
			t.Fatalf("all masks = %+v", all)
		}

		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"missing column", func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "ssn", Function: "redact"})
				return err
			}, apierr.NotFound, `column "sales.orders.ssn" not found`},
			{"missing table", func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "nope", Column: "email", Function: "redact"})
				return err
			}, apierr.NotFound, `table "sales.nope" not found`},
			{"missing principal", func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: "redact",
					Principal: refPtr(store.User, "bob")})
				return err
			}, apierr.NotFound, `user "bob" not found`},
			{"no function", func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email"})
				return err
			}, apierr.InvalidArgument, "mask function name is empty"},
			{"function name too long", func(tx *store.Tx) error {
				_, err := tx.SetMask(ctx, store.Mask{Database: "sales", Table: "orders", Column: "email", Function: strings.Repeat("f", 65)})
				return err
			}, apierr.InvalidArgument, "longer than 64"},
			{"drop alice's", func(tx *store.Tx) error {
				return tx.DropMask(ctx, "sales", "orders", "email", &alice)
			}, "", ""},
			{"drop alice's again", func(tx *store.Tx) error {
				return tx.DropMask(ctx, "sales", "orders", "email", &alice)
			}, apierr.NotFound, "no mask on sales.orders.email for user alice"},
			{"drop for a group without one", func(tx *store.Tx) error {
				return tx.DropMask(ctx, "sales", "orders", "email", refPtr(store.Group, "eng"))
			}, apierr.NotFound, "no mask on sales.orders.email for group eng"},
			{"drop everyone's", func(tx *store.Tx) error {
				return tx.DropMask(ctx, "sales", "orders", "email", nil)
			}, "", ""},
			{"drop everyone's again", func(tx *store.Tx) error {
				return tx.DropMask(ctx, "sales", "orders", "email", nil)
			}, apierr.NotFound, "no mask on sales.orders.email for everyone"},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, s.InTx(ctx, tc.op), tc.code, tc.msg)
		}
		if got, _, err := s.ListMasks(ctx, "sales", "orders", store.Page{}); err != nil || !reflect.DeepEqual(got, []store.Mask{amount}) {
			t.Fatalf("after drops: %+v, %v", got, err)
		}
		if _, _, err := s.ListMasks(ctx, "sales", "nope", store.Page{}); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("masks of a missing table: %v", err)
		}
	})
}

func containsMask(ms []store.Mask, m store.Mask) bool {
	for _, x := range ms {
		if reflect.DeepEqual(x, m) {
			return true
		}
	}
	return false
}

func TestColumnTags(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		cfg := storetest.Config(t, d)
		s := storetest.OpenConfig(t, cfg)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		set := func(col string, tags ...string) func(tx *store.Tx) error {
			return func(tx *store.Tx) error { return tx.SetColumnTags(ctx, "sales", "orders", col, tags) }
		}
		unset := func(col string, tags ...string) func(tx *store.Tx) error {
			return func(tx *store.Tx) error { return tx.UnsetColumnTags(ctx, "sales", "orders", col, tags) }
		}
		// More tags than one IN list may hold on SQLite (32766 parameters).
		tooMany := make([]string, 40000)
		for i := range tooMany {
			tooMany[i] = fmt.Sprintf("t%d", i)
		}
		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"set two", set("email", "pii.email", "pii"), "", ""},
			{"set one again and a new one", set("email", "pii", "contact", "contact"), "", ""},
			{"set on another column", set("amount", "finance"), "", ""},
			{"set on a missing column", set("ssn", "pii"), apierr.NotFound, `column "sales.orders.ssn" not found`},
			{"set nothing", set("email"), apierr.InvalidArgument, "no tags"},
			{"set an empty tag", set("email", ""), apierr.InvalidArgument, "tag name is empty"},
			{"set too many", set("email", tooMany...), apierr.InvalidArgument, "40000 tags at once; give at most 1000"},
			{"unset too many", unset("email", tooMany...), apierr.InvalidArgument, "40000 tags at once; give at most 1000"},
			{"unset", unset("email", "contact"), "", ""},
			{"unset again", unset("email", "contact"), apierr.NotFound, `column "sales.orders.email" has no tag "contact"`},
			{"unset an unknown tag", unset("email", "nope"), apierr.NotFound, `has no tag "nope"`},
			{"unset on a missing table", func(tx *store.Tx) error {
				return tx.UnsetColumnTags(ctx, "sales", "nope", "email", []string{"pii"})
			}, apierr.NotFound, `table "sales.nope" not found`},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, s.InTx(ctx, tc.op), tc.code, tc.msg)
		}
		got, err := s.ColumnTags(ctx, "sales", "orders")
		if want := map[string][]string{"email": {"pii", "pii.email"}, "amount": {"finance"}}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("tags = %v, %v; want %v", got, err, want)
		}
		// Tag rows are created once and kept.
		if n := count(t, cfg, "SELECT COUNT(*) FROM tags"); n != 4 {
			t.Fatalf("%d tag rows, want 4", n)
		}
		if _, err := s.ColumnTags(ctx, "nope", "orders"); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("tags of a missing table: %v", err)
		}
	})
}

func TestUnmasks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, eng := ref(store.User, "alice"), ref(store.Group, "eng")
		createPrincipals(t, s, alice, eng)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		create := func(u store.Unmask) (store.Unmask, error) {
			var out store.Unmask
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				out, err = tx.CreateUnmask(ctx, u)
				return err
			})
			return out, err
		}
		col, err := create(store.Unmask{Principal: alice, Database: "sales", Table: "orders", Column: "email"})
		if err != nil || col.ID == "" || col.Version != 1 {
			t.Fatalf("column unmask = %+v, %v", col, err)
		}
		tag, err := create(store.Unmask{Principal: alice, Tag: "pii.*"})
		if err != nil {
			t.Fatal(err)
		}
		engTag, err := create(store.Unmask{Principal: eng, Tag: "pii.*"})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []store.Unmask{col, tag, engTag} {
			if got, err := s.GetUnmask(ctx, u.ID); err != nil || !reflect.DeepEqual(got, u) {
				t.Fatalf("get = %+v, %v; want %+v", got, err, u)
			}
		}
		cases := []struct {
			name string
			u    store.Unmask
			code apierr.Code
			msg  string
		}{
			{"same column again", store.Unmask{Principal: alice, Database: "sales", Table: "orders", Column: "email"},
				apierr.AlreadyExists, "UNMASK grant"},
			{"same tag again", store.Unmask{Principal: alice, Tag: "pii.*"}, apierr.AlreadyExists, "already exists"},
			{"tag and column", store.Unmask{Principal: alice, Tag: "pii", Database: "sales", Table: "orders", Column: "email"},
				apierr.InvalidArgument, "not both"},
			{"neither", store.Unmask{Principal: alice}, apierr.InvalidArgument, "database name is empty"},
			{"table without column", store.Unmask{Principal: alice, Database: "sales", Table: "orders"},
				apierr.InvalidArgument, "column name is empty"},
			{"missing column", store.Unmask{Principal: alice, Database: "sales", Table: "orders", Column: "ssn"},
				apierr.NotFound, `column "sales.orders.ssn" not found`},
			{"missing principal", store.Unmask{Principal: ref(store.User, "bob"), Tag: "pii"}, apierr.NotFound, `user "bob" not found`},
		}
		for _, tc := range cases {
			_, err := create(tc.u)
			apierrtest.Code(t, tc.name, err, tc.code, tc.msg)
		}
		list := func(f store.UnmaskFilter) []store.Unmask {
			var out []store.Unmask
			tok := ""
			for {
				page, next, err := s.ListUnmasks(ctx, f, store.Page{PageSize: 1, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page...)
				if tok = next; tok == "" {
					return out
				}
			}
		}
		for name, tc := range map[string]struct {
			f    store.UnmaskFilter
			want []store.Unmask
		}{
			"all":           {store.UnmaskFilter{}, []store.Unmask{col, tag, engTag}},
			"alice":         {store.UnmaskFilter{Principal: &alice}, []store.Unmask{col, tag}},
			"orders":        {store.UnmaskFilter{Database: "sales", Table: "orders"}, []store.Unmask{col}},
			"eng on orders": {store.UnmaskFilter{Principal: &eng, Database: "sales", Table: "orders"}, nil},
		} {
			if got := list(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s: listed %+v, want %+v", name, got, tc.want)
			}
		}
		apierrtest.Code(t, "delete stale", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUnmask(ctx, tag.ID, 3) }),
			apierr.Conflict, "expected version 3, current version 1")
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeleteUnmask(ctx, tag.ID, 1) })
		apierrtest.Code(t, "delete again", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUnmask(ctx, tag.ID, 1) }),
			apierr.NotFound, "not found")
		// The same grant may be made again once deleted.
		if _, err := create(store.Unmask{Principal: alice, Tag: "pii.*"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPolicies(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		createDatabase(t, s, store.Database{Name: "sales"})
		createTable(t, s, ordersTable("sales"))
		create := func(p store.Policy) (store.Policy, error) {
			var out store.Policy
			err := s.InTx(ctx, func(tx *store.Tx) error {
				var err error
				out, err = tx.CreatePolicy(ctx, p)
				return err
			})
			return out, err
		}
		var made []store.Policy
		for _, p := range []store.Policy{
			{Name: "pii-mask", Kind: store.TagMask, TagPattern: "pii.*", MaskFunction: "redact", Comment: "mask PII"},
			{Name: "card-last4", Kind: store.SafeguardMask, TagPattern: "pci.card", MaskFunction: "last", MaskArgs: []int64{4},
				UnlessUnmaskTag: "pci"},
			{Name: "eu-only", Kind: store.SafeguardFilter, Database: "sales", Table: "orders", FilterExpression: euFilter,
				FilterSQL: "region = 'eu'"},
		} {
			got, err := create(p)
			if err != nil {
				t.Fatalf("create %s: %v", p.Name, err)
			}
			if got.ID == "" || got.Version != 1 || got.CreatedAt.IsZero() {
				t.Fatalf("created = %+v", got)
			}
			if fetched, err := s.GetPolicy(ctx, p.Name); err != nil || !reflect.DeepEqual(fetched, got) {
				t.Fatalf("get = %+v, %v\nwant %+v", fetched, err, got)
			}
			made = append(made, got)
		}
		cases := []struct {
			name string
			p    store.Policy
			code apierr.Code
			msg  string
		}{
			{"duplicate name", store.Policy{Name: "pii-mask", Kind: store.TagMask, TagPattern: "x", MaskFunction: "redact"},
				apierr.AlreadyExists, `policy "pii-mask" already exists`},
			{"unknown kind", store.Policy{Name: "p", Kind: "deny"}, apierr.InvalidArgument, `unknown policy kind "deny"`},
			{"mask without pattern", store.Policy{Name: "p", Kind: store.TagMask, MaskFunction: "redact"},
				apierr.InvalidArgument, "tag pattern name is empty"},
			{"mask without function", store.Policy{Name: "p", Kind: store.SafeguardMask, TagPattern: "pii"},
				apierr.InvalidArgument, "mask function name is empty"},
			{"mask with a table", store.Policy{Name: "p", Kind: store.TagMask, TagPattern: "pii", MaskFunction: "redact",
				Database: "sales", Table: "orders"}, apierr.InvalidArgument, "has no table or filter"},
			{"filter with a mask", store.Policy{Name: "p", Kind: store.SafeguardFilter, Database: "sales", Table: "orders",
				FilterExpression: euFilter, MaskFunction: "redact"}, apierr.InvalidArgument, "has no tag pattern or mask"},
			{"filter without expression", store.Policy{Name: "p", Kind: store.SafeguardFilter, Database: "sales", Table: "orders"},
				apierr.InvalidArgument, "expression is empty"},
			{"filter on a missing table", store.Policy{Name: "p", Kind: store.SafeguardFilter, Database: "sales", Table: "nope",
				FilterExpression: euFilter}, apierr.NotFound, `table "sales.nope" not found`},
		}
		for _, tc := range cases {
			_, err := create(tc.p)
			apierrtest.Code(t, tc.name, err, tc.code, tc.msg)
		}
		var names []string
		tok := ""
		for {
			page, next, err := s.ListPolicies(ctx, store.Page{PageSize: 2, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				names = append(names, p.Name)
			}
			if tok = next; tok == "" {
				break
			}
		}
		if want := []string{"card-last4", "eu-only", "pii-mask"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("listed %v, want %v", names, want)
		}
		apierrtest.Code(t, "delete stale", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeletePolicy(ctx, "eu-only", 2) }),
			apierr.Conflict, `policy "eu-only" was changed by someone else: expected version 2, current version 1`)
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeletePolicy(ctx, "eu-only", made[2].Version) })
		apierrtest.Code(t, "get deleted", func() error { _, err := s.GetPolicy(ctx, "eu-only"); return err }(),
			apierr.NotFound, `policy "eu-only" not found`)
		apierrtest.Code(t, "delete missing", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeletePolicy(ctx, "eu-only", 1) }),
			apierr.NotFound, `policy "eu-only" not found`)
	})
}

func TestCatalogAdminRole(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		admin, err := s.GetPrincipal(ctx, store.CatalogAdmin)
		if err != nil || admin.ID != store.CatalogAdminID || admin.Kind != store.Role || admin.Version != 1 || admin.CreatedAt.Unix() < 1e9 {
			t.Fatalf("built-in role = %+v, %v", admin, err)
		}
		apierrtest.Code(t, "delete", s.InTx(ctx, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, store.CatalogAdmin, admin.Version) }),
			apierr.FailedPrecondition, `role "catalog_admin" is built in and cannot be deleted`)
		createPrincipals(t, s, ref(store.User, "root"), ref(store.User, "catalog_admin"))
		mustTx(t, s, func(tx *store.Tx) error { return tx.AddMembership(ctx, ref(store.User, "root"), store.CatalogAdmin) })
		// Only the role is protected.
		mustTx(t, s, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, ref(store.User, "catalog_admin"), 1) })
		if _, err := s.GetPrincipal(ctx, store.CatalogAdmin); err != nil {
			t.Fatal(err)
		}
	})
}
