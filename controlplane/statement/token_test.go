package statement

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

type tk struct {
	kind tokKind
	text string
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []tk
	}{
		{"", nil},
		{"  -- only a comment", nil},
		{"/* a /* nested */ comment */", nil},
		{"CREATE db.t;", []tk{{tIdent, "CREATE"}, {tIdent, "db"}, {tOp, "."}, {tIdent, "t"}, {tOp, ";"}}},
		{`'it''s' E'a\'b' "Q""x" ` + "`B``y`", []tk{{tString, "it's"}, {tString, `a\'b`}, {tQuoted, `Q"x`}, {tQuoted, "B`y"}}},
		{"a<=b>=c<>d!=e::f<g>>", []tk{{tIdent, "a"}, {tOp, "<="}, {tIdent, "b"}, {tOp, ">="}, {tIdent, "c"}, {tOp, "<>"},
			{tIdent, "d"}, {tOp, "!="}, {tIdent, "e"}, {tOp, "::"}, {tIdent, "f"}, {tOp, "<"}, {tIdent, "g"}, {tOp, ">"}, {tOp, ">"}}},
		{"1 1.5 .5 1e3 1.5E-3 0x1F 1_000 1..2", []tk{{tNumber, "1"}, {tNumber, "1.5"}, {tNumber, ".5"}, {tNumber, "1e3"},
			{tNumber, "1.5E-3"}, {tNumber, "0x1F"}, {tNumber, "1_000"}, {tNumber, "1"}, {tOp, "."}, {tNumber, ".2"}}},
		{"x'ff' é$1 _a", []tk{{tIdent, "x"}, {tString, "ff"}, {tIdent, "é$1"}, {tIdent, "_a"}}},
		{"a--c\nb/**/c", []tk{{tIdent, "a"}, {tIdent, "b"}, {tIdent, "c"}}},
		{"'a;b' ; \"c;d\"", []tk{{tString, "a;b"}, {tOp, ";"}, {tQuoted, "c;d"}}},
		{"e'x' Ee'y'", []tk{{tString, "x"}, {tIdent, "Ee"}, {tString, "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			toks, err := tokenize(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []tk
			for _, x := range toks {
				got = append(got, tk{x.kind, x.text})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("tokenize = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"'abc", "unterminated quoted string at line 1, column 1"},
		{"a\n  E'abc\\'", "unterminated quoted string at line 2, column 3"},
		{`"abc`, "unterminated quoted identifier at line 1, column 1"},
		{"x `abc", "unterminated quoted identifier at line 1, column 3"},
		{`""`, "zero-length quoted identifier at line 1, column 1"},
		{"/* /* */", "unterminated /* comment at line 1, column 1"},
		{"ab\x00", "invalid NUL character at line 1, column 3"},
		{"ééé\xc3", "invalid UTF-8 byte 0xc3 at line 1, column 4"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := tokenize(tt.in)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != apierr.InvalidArgument || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPGTextOffsets(t *testing.T) {
	src := "GRANT  SELECT ON `Db`.t TO ROLE r"
	toks, err := tokenize(src)
	if err != nil {
		t.Fatal(err)
	}
	pt := newPGText(src, "", 0, toks, func(i int) bool { return i == 7 }) // ROLE
	if pt.text != `GRANT SELECT ON "Db".t TO r` {
		t.Fatalf("text = %q", pt.text)
	}
	for newOff, want := range map[int]int{0: 0, 6: 7, 16: 17, 18: 17, 20: 21, 21: 22, 23: 24, 26: 32, 27: len(src)} {
		if got := pt.orig(newOff); got != want {
			t.Errorf("orig(%d) = %d, want %d", newOff, got, want)
		}
	}
}
