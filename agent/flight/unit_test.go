package flight

import (
	"fmt"
	"testing"
	"time"

	"github.com/nscale/nscale/internal/apierr"
)

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"%", "", true},
		{"%", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"sales", "sales", true},
		{"sales", "Sales", false}, // case-sensitive
		{"sa%", "sales", true},
		{"%es", "sales", true},
		{"%le%", "sales", true},
		{"s_les", "sales", true},
		{"s_les", "sles", false},
		{"s__es", "sales", true},
		{`d\_b`, "d_b", true},
		{`d\_b`, "dxb", false},
		{`100\%`, "100%", true},
		{`100\%`, "1000", false},
		{`a\\`, `a\`, true}, // an escaped backslash
		{`a\\`, `a\\`, false},
		{"%a%b%c%", "xxaxxbxxcxx", true},
		{"%a%b%c%", "xxaxxcxxbxx", false},
		{"_", "é", true}, // one rune, not one byte
		{"%%%%%%%%%%%%%%%%%%%%x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tc := range cases {
		p := tc.pattern
		match, err := filterPattern(&p)
		if err != nil {
			t.Fatalf("filterPattern(%q): %v", tc.pattern, err)
		}
		if got := match(tc.s); got != tc.want {
			t.Errorf("filterPattern(%q)(%q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	if match, err := filterPattern(nil); err != nil || !match("x") {
		t.Error("a nil pattern must match everything")
	}
	// A trailing lone backslash escapes nothing: refused, as in SQL (the
	// agent matched it as a literal backslash before).
	p := `a\`
	if _, err := filterPattern(&p); apierr.CodeOf(err) != apierr.InvalidArgument {
		t.Errorf("filterPattern(%q): %v, want INVALID_ARGUMENT", p, err)
	}
}

func TestAuthCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newAuthCache(30*time.Second, 2, func() time.Time { return now })
	c.put("tok-a", "alice")
	if p, ok := c.get("tok-a"); !ok || p != "alice" {
		t.Fatalf("get = %q, %v", p, ok)
	}
	if _, ok := c.get("tok-b"); ok {
		t.Error("unknown token hit")
	}
	now = now.Add(30 * time.Second)
	if _, ok := c.get("tok-a"); ok {
		t.Error("entry served at its TTL")
	}
	// Bounded: never more than size entries.
	for i := range 10 {
		c.put(fmt.Sprintf("tok-%d", i), "u")
		if len(c.entries) > 2 {
			t.Fatalf("cache holds %d entries, bound is 2", len(c.entries))
		}
	}
	if _, ok := c.get("tok-9"); !ok {
		t.Error("the newest entry was evicted")
	}
	for k := range c.entries {
		if string(k[:]) == "tok-9" {
			t.Error("raw token used as key")
		}
	}
}

func TestTicketKeyID(t *testing.T) {
	cases := []struct {
		in   string
		id   string
		okay bool
	}{
		{"nst1.abc123.payload.sig", "abc123", true},
		{"nst2.abc.payload.sig", "", false},
		{"nst1.bad id.p.s", "", false},
		{"nst1.noend", "", false},
	}
	for _, tc := range cases {
		id, ok := ticketKeyID([]byte(tc.in))
		if id != tc.id || ok != tc.okay {
			t.Errorf("ticketKeyID(%q) = %q, %v", tc.in, id, ok)
		}
	}
}
