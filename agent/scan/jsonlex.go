package scan

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonLexer reads the JSON text of one line, in place. encoding/json's
// Decoder allocates for every token and its Token method formats an error
// at the end of each value, which made it the whole cost of a scan; this
// reader allocates only for strings with escapes.
type jsonLexer struct {
	b       []byte
	pos     int
	scratch []byte // unescaped strings
}

// maxJSONDepth bounds the nesting of a line's values (the control plane's
// inference refuses more than 32 levels); deeper input is refused rather
// than recursed into.
const maxJSONDepth = 256

// Errors of the lexer; jsonScan turns them into messages with the line.
var (
	errTruncated = errors.New("truncated JSON")
	errTooDeep   = fmt.Errorf("JSON nests deeper than %d levels", maxJSONDepth)
)

// syntaxError is invalid JSON at byte Offset of the line.
type syntaxError struct{ offset int }

func (e syntaxError) Error() string { return fmt.Sprintf("JSON syntax error at byte %d", e.offset) }

// fail is the error for the byte at the lexer's position: truncated at the
// end of the line, a syntax error otherwise.
func (l *jsonLexer) fail() error {
	if l.pos >= len(l.b) {
		return errTruncated
	}
	return syntaxError{l.pos}
}

// peek skips white space and returns the next byte, 0 at the end (a NUL
// byte is 0 too: check l.pos against the end where it matters).
func (l *jsonLexer) peek() byte {
	for l.pos < len(l.b) {
		switch c := l.b[l.pos]; c {
		case ' ', '\t', '\n', '\r':
			l.pos++
		default:
			return c
		}
	}
	return 0
}

// expect consumes c after white space.
func (l *jsonLexer) expect(c byte) error {
	if l.peek() != c {
		return l.fail()
	}
	l.pos++
	return nil
}

// literal consumes true, false or null, whichever starts here.
func (l *jsonLexer) literal(word string) error {
	if !bytes.HasPrefix(l.b[l.pos:], []byte(word)) {
		if bytes.HasPrefix([]byte(word), l.b[l.pos:]) {
			return errTruncated
		}
		return syntaxError{l.pos}
	}
	l.pos += len(word)
	return nil
}

// number consumes a JSON number and returns its text.
func (l *jsonLexer) number() ([]byte, error) {
	b, start := l.b, l.pos
	digits := func() int {
		n := 0
		for l.pos < len(b) && b[l.pos] >= '0' && b[l.pos] <= '9' {
			l.pos++
			n++
		}
		return n
	}
	if l.pos < len(b) && b[l.pos] == '-' {
		l.pos++
	}
	switch {
	case l.pos >= len(b):
		return nil, errTruncated
	case b[l.pos] == '0':
		l.pos++
	case b[l.pos] >= '1' && b[l.pos] <= '9':
		digits()
	default:
		return nil, syntaxError{l.pos}
	}
	if l.pos < len(b) && b[l.pos] == '.' {
		l.pos++
		if digits() == 0 {
			return nil, l.fail()
		}
	}
	if l.pos < len(b) && (b[l.pos] == 'e' || b[l.pos] == 'E') {
		l.pos++
		if l.pos < len(b) && (b[l.pos] == '+' || b[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return nil, l.fail()
		}
	}
	return b[start:l.pos], nil
}

// str consumes a string and returns its value: a slice of the line when it
// has no escapes, else of the scratch buffer (valid until the next call).
// Invalid UTF-8 and lone surrogates become U+FFFD, as encoding/json
// decodes them.
func (l *jsonLexer) str() ([]byte, error) {
	b := l.b
	l.pos++ // the opening quote
	start := l.pos
	ascii := true
	for l.pos < len(b) {
		c := b[l.pos]
		switch {
		case c == '"':
			s := b[start:l.pos]
			l.pos++
			if !ascii && !utf8.Valid(s) {
				l.scratch = appendValidUTF8(l.scratch[:0], s)
				return l.scratch, nil
			}
			return s, nil
		case c == '\\':
			l.scratch = append(l.scratch[:0], b[start:l.pos]...)
			return l.escaped()
		case c < 0x20:
			return nil, syntaxError{l.pos}
		case c >= utf8.RuneSelf:
			ascii = false
		}
		l.pos++
	}
	return nil, errTruncated
}

// escaped continues a string at a backslash, unescaping into scratch.
func (l *jsonLexer) escaped() ([]byte, error) {
	b := l.b
	start := l.pos // of the bytes not yet copied
	for l.pos < len(b) {
		c := b[l.pos]
		switch {
		case c == '"':
			l.scratch = append(l.scratch, b[start:l.pos]...)
			l.pos++
			if !utf8.Valid(l.scratch) {
				l.scratch = appendValidUTF8(nil, l.scratch)
			}
			return l.scratch, nil
		case c < 0x20:
			return nil, syntaxError{l.pos}
		case c != '\\':
			l.pos++
			continue
		}
		l.scratch = append(l.scratch, b[start:l.pos]...)
		l.pos++
		if l.pos >= len(b) {
			return nil, errTruncated
		}
		e := b[l.pos]
		l.pos++
		switch e {
		case '"', '\\', '/':
			l.scratch = append(l.scratch, e)
		case 'b':
			l.scratch = append(l.scratch, '\b')
		case 'f':
			l.scratch = append(l.scratch, '\f')
		case 'n':
			l.scratch = append(l.scratch, '\n')
		case 'r':
			l.scratch = append(l.scratch, '\r')
		case 't':
			l.scratch = append(l.scratch, '\t')
		case 'u':
			r, ok := hex4(b[l.pos:])
			if !ok {
				return nil, l.fail()
			}
			l.pos += 4
			if utf16.IsSurrogate(r) {
				// As encoding/json: a pair is one rune, anything else
				// U+FFFD, and a following escape that is not the pair's
				// second half stands on its own.
				pair := utf8.RuneError
				if l.pos+6 <= len(b) && b[l.pos] == '\\' && b[l.pos+1] == 'u' {
					if r2, ok := hex4(b[l.pos+2:]); ok {
						pair = utf16.DecodeRune(r, r2)
					}
				}
				r = pair
				if pair != utf8.RuneError {
					l.pos += 6
				}
			}
			l.scratch = utf8.AppendRune(l.scratch, r)
		default:
			return nil, syntaxError{l.pos - 1}
		}
		start = l.pos
	}
	return nil, errTruncated
}

// appendValidUTF8 appends s with each byte that is not part of valid
// UTF-8 replaced by U+FFFD, as encoding/json does.
func appendValidUTF8(dst, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

// hex4 reads the four hex digits of a \u escape at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skip consumes one value of any kind, checking its syntax.
func (l *jsonLexer) skip(depth int) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	switch c := l.peek(); c {
	case '{':
		l.pos++
		if l.peek() == '}' {
			l.pos++
			return nil
		}
		for {
			if l.peek() != '"' {
				return l.fail()
			}
			if _, err := l.str(); err != nil {
				return err
			}
			if err := l.expect(':'); err != nil {
				return err
			}
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			if done, err := l.next('}'); done || err != nil {
				return err
			}
		}
	case '[':
		l.pos++
		if l.peek() == ']' {
			l.pos++
			return nil
		}
		for {
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			if done, err := l.next(']'); done || err != nil {
				return err
			}
		}
	case '"':
		_, err := l.str()
		return err
	case 't':
		return l.literal("true")
	case 'f':
		return l.literal("false")
	case 'n':
		return l.literal("null")
	case 0:
		return l.fail() // the end of the line, or a NUL byte
	default:
		_, err := l.number()
		return err
	}
}

// next consumes the ',' between members or elements, or the closing
// delimiter (done).
func (l *jsonLexer) next(closing byte) (done bool, err error) {
	switch l.peek() {
	case ',':
		l.pos++
		return false, nil
	case closing:
		l.pos++
		return true, nil
	}
	return false, l.fail()
}
