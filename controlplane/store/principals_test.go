package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/nscale/nscale/controlplane/store"
	"github.com/nscale/nscale/controlplane/store/storetest"
	"github.com/nscale/nscale/internal/apierr"
	"github.com/nscale/nscale/internal/apierr/apierrtest"
)

func ref(kind store.PrincipalKind, name string) store.PrincipalRef {
	return store.PrincipalRef{Kind: kind, Name: name}
}

func createPrincipals(t *testing.T, s *store.Store, refs ...store.PrincipalRef) {
	t.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for _, r := range refs {
			if _, err := tx.CreatePrincipal(ctx, store.Principal{Kind: r.Kind, Name: r.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create principals: %v", err)
	}
}

func TestPrincipals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		var alice store.Principal
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			alice, err = tx.CreatePrincipal(ctx, store.Principal{Kind: store.User, Name: "alice", Comment: "analyst"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPrincipal(ctx, ref(store.User, "alice"))
		if err != nil || !reflect.DeepEqual(got, alice) {
			t.Fatalf("get = %+v, %v; want %+v", got, err, alice)
		}
		// The same name is free in another kind.
		createPrincipals(t, s, ref(store.Group, "alice"), ref(store.Role, "alice"))

		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"duplicate user", func(tx *store.Tx) error {
				_, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.User, Name: "alice"})
				return err
			}, apierr.AlreadyExists, `user "alice" already exists`},
			{"unknown kind", func(tx *store.Tx) error {
				_, err := tx.CreatePrincipal(ctx, store.Principal{Kind: "robot", Name: "r2"})
				return err
			}, apierr.InvalidArgument, `unknown principal kind "robot"`},
			{"empty name", func(tx *store.Tx) error {
				_, err := tx.CreatePrincipal(ctx, store.Principal{Kind: store.Role})
				return err
			}, apierr.InvalidArgument, "role name is empty"},
			{"get missing", func(tx *store.Tx) error {
				_, err := tx.GetPrincipal(ctx, ref(store.User, "bob"))
				return err
			}, apierr.NotFound, `user "bob" not found`},
			{"delete stale", func(tx *store.Tx) error {
				return tx.DeletePrincipal(ctx, ref(store.User, "alice"), 7)
			}, apierr.Conflict, "expected version 7, current version 1"},
			{"delete missing", func(tx *store.Tx) error {
				return tx.DeletePrincipal(ctx, ref(store.User, "bob"), 1)
			}, apierr.NotFound, `user "bob" not found`},
		}
		for _, tc := range cases {
			err := s.InTx(ctx, tc.op)
			apierrtest.Code(t, tc.name, err, tc.code, tc.msg)
		}
	})
}

func TestPrincipalPagination(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		var refs []store.PrincipalRef
		want := map[store.PrincipalKind][]string{}
		for i := range 9 {
			for _, k := range []store.PrincipalKind{store.Role, store.User, store.Group} {
				name := fmt.Sprintf("%s-%d", k, 8-i)
				refs = append(refs, ref(k, name))
				want[k] = append([]string{name}, want[k]...)
			}
		}
		createPrincipals(t, s, refs...)
		// The built-in catalog_admin role is always there.
		want[store.Role] = append([]string{store.CatalogAdmin.Name}, want[store.Role]...)
		all := append(append(append([]string{}, want[store.Group]...), want[store.Role]...), want[store.User]...)
		for _, kind := range []store.PrincipalKind{"", store.User, store.Group, store.Role} {
			for _, size := range []int{1, 4, 9, 100} {
				var got []string
				tok := ""
				for pages := 0; ; pages++ {
					if pages > 30 {
						t.Fatalf("kind %q size %d: pagination does not end", kind, size)
					}
					page, next, err := s.ListPrincipals(ctx, kind, store.Page{PageSize: size, PageToken: tok})
					if err != nil {
						t.Fatalf("kind %q size %d: %v", kind, size, err)
					}
					for _, p := range page {
						if kind != "" && p.Kind != kind {
							t.Fatalf("kind %q: listed a %s", kind, p.Kind)
						}
						got = append(got, p.Name)
					}
					if tok = next; tok == "" {
						break
					}
				}
				w := all
				if kind != "" {
					w = want[kind]
				}
				if !reflect.DeepEqual(got, w) {
					t.Fatalf("kind %q size %d: listed %v\nwant %v", kind, size, got, w)
				}
			}
		}
		// A token from one kind's list is refused by another's.
		_, tok, err := s.ListPrincipals(ctx, store.User, store.Page{PageSize: 2})
		if err != nil || tok == "" {
			t.Fatalf("first page: %q, %v", tok, err)
		}
		if _, _, err := s.ListPrincipals(ctx, store.Group, store.Page{PageSize: 2, PageToken: tok}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("user token on the group list: %v, want InvalidArgument", err)
		}
		if _, _, err := s.ListPrincipals(ctx, "robot", store.Page{}); apierr.CodeOf(err) != apierr.InvalidArgument {
			t.Fatalf("unknown kind: %v, want InvalidArgument", err)
		}
	})
}

func TestMemberships(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, bob := ref(store.User, "alice"), ref(store.User, "bob")
		eng, staff, all := ref(store.Group, "eng"), ref(store.Group, "staff"), ref(store.Group, "all")
		analyst, reader := ref(store.Role, "analyst"), ref(store.Role, "reader")
		createPrincipals(t, s, alice, bob, eng, staff, all, analyst, reader)

		add := func(m, p store.PrincipalRef) func(tx *store.Tx) error {
			return func(tx *store.Tx) error { return tx.AddMembership(ctx, m, p) }
		}
		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
			msg  string
		}{
			{"user in group", add(alice, eng), "", ""},
			{"user in role", add(alice, analyst), "", ""},
			{"group in group", add(eng, staff), "", ""},
			{"group in group again", add(staff, all), "", ""},
			{"group in role", add(staff, reader), "", ""},
			{"role in role", add(analyst, reader), "", ""},
			{"duplicate", add(alice, eng), apierr.AlreadyExists, "already exists"},
			{"missing member", add(ref(store.User, "carol"), eng), apierr.NotFound, `user "carol" not found`},
			{"missing parent", add(alice, ref(store.Group, "ops")), apierr.NotFound, `group "ops" not found`},
			{"into a user", add(alice, bob), apierr.InvalidArgument, "a user cannot be a member of a user"},
			{"role into group", add(analyst, eng), apierr.InvalidArgument, "a role cannot be a member of a group"},
			{"self", add(eng, eng), apierr.InvalidArgument, "member of itself"},
			{"direct cycle", add(staff, eng), apierr.InvalidArgument, "cycle"},
			{"indirect cycle", add(all, eng), apierr.InvalidArgument, "cycle"},
			{"role cycle", add(reader, analyst), apierr.InvalidArgument, "cycle"},
			{"remove missing", func(tx *store.Tx) error { return tx.RemoveMembership(ctx, bob, eng) }, apierr.NotFound, "is not a member"},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, s.InTx(ctx, tc.op), tc.code, tc.msg)
		}

		names := func(ps []store.Principal) []string {
			var out []string
			for _, p := range ps {
				out = append(out, string(p.Kind)+":"+p.Name)
			}
			return out
		}
		got, err := s.Memberships(ctx, alice)
		if err != nil || !reflect.DeepEqual(names(got), []string{"group:eng", "role:analyst"}) {
			t.Fatalf("alice's memberships = %v, %v", names(got), err)
		}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.RemoveMembership(ctx, alice, eng) }); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Memberships(ctx, alice)
		if !reflect.DeepEqual(names(got), []string{"role:analyst"}) {
			t.Fatalf("after removal alice's memberships = %v", names(got))
		}
		if _, err := s.Memberships(ctx, ref(store.User, "carol")); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("memberships of a missing user: %v", err)
		}

		// Deleting a group removes its memberships both ways.
		p, _ := s.GetPrincipal(ctx, staff)
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.DeletePrincipal(ctx, staff, p.Version) }); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Memberships(ctx, eng); len(got) != 0 {
			t.Fatalf("eng still in %v after staff was deleted", names(got))
		}
		// ...which makes all -> eng legal now (no cycle left).
		if err := s.InTx(ctx, add(eng, all)); err != nil {
			t.Fatalf("eng in all after the cycle was broken: %v", err)
		}
	})
}

func TestAttributes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := storetest.Open(t, d)
		alice, eng := ref(store.User, "alice"), ref(store.Group, "eng")
		createPrincipals(t, s, alice, eng)
		set := func(r store.PrincipalRef, k, v string) func(tx *store.Tx) error {
			return func(tx *store.Tx) error { return tx.SetAttribute(ctx, r, k, v) }
		}
		cases := []struct {
			name string
			op   func(tx *store.Tx) error
			code apierr.Code
		}{
			{"set", set(alice, "region", "eu"), ""},
			{"set another", set(alice, "dept", "finance"), ""},
			{"overwrite", set(alice, "region", "us"), ""},
			{"same value again", set(alice, "dept", "finance"), ""},
			{"empty value", set(alice, "cost_center", ""), ""},
			{"on a group", set(eng, "region", "eu"), apierr.InvalidArgument},
			{"missing user", set(ref(store.User, "bob"), "region", "eu"), apierr.NotFound},
			{"empty key", set(alice, "", "x"), apierr.InvalidArgument},
			{"delete", func(tx *store.Tx) error { return tx.DeleteAttribute(ctx, alice, "cost_center") }, ""},
			{"delete missing", func(tx *store.Tx) error { return tx.DeleteAttribute(ctx, alice, "cost_center") }, apierr.NotFound},
		}
		for _, tc := range cases {
			apierrtest.Code(t, tc.name, s.InTx(ctx, tc.op), tc.code, "")
		}
		got, err := s.Attributes(ctx, alice)
		if want := map[string]string{"region": "us", "dept": "finance"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("attributes = %v, %v; want %v", got, err, want)
		}
		if _, err := s.Attributes(ctx, ref(store.User, "bob")); apierr.CodeOf(err) != apierr.NotFound {
			t.Fatalf("attributes of a missing user: %v", err)
		}
	})
}
