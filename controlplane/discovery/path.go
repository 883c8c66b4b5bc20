package discovery

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// NullPartition is the directory value Hive writes for a NULL (or empty)
// partition value.
const NullPartition = "__HIVE_DEFAULT_PARTITION__"

// MaxPathLen bounds an object's path relative to the table root.
const MaxPathLen = 4096

// Hidden reports whether a path segment (a directory or file name) is
// hidden: its object, or every object below it, is not table data.
//
//   - names starting with "." (.part-0.crc, .hive-staging_..., .spark-staging-...)
//   - names starting with "_" (_SUCCESS, _committed_123, _started_123,
//     _temporary/, _delta_log/, _metadata), except a directory whose name
//     holds "=": Spark's rule, so that a partition column may start with "_"
//   - files ending in ".crc" (Hadoop checksums) or "._COPYING_" (a
//     `hadoop fs -put` in progress), and "_$folder$" markers (EMR)
func Hidden(name string, isDir bool) bool {
	switch {
	case name == "":
		return false
	case name[0] == '.':
		return true
	case name[0] == '_':
		return !(isDir && strings.Contains(name, "="))
	case strings.HasSuffix(name, "_$folder$"):
		return true
	case !isDir && (strings.HasSuffix(name, ".crc") || strings.HasSuffix(name, "._COPYING_")):
		return true
	}
	return false
}

// PathInfo is a data file's path relative to the table root, split into
// its Hive partition directories and the rest.
type PathInfo struct {
	// Keys and Values are the partition directories in order, unescaped.
	// A value may be NullPartition.
	Keys   []string
	Values []string
	// Name is the file name.
	Name string
}

// ParsePath parses rel, a "/"-separated path relative to the table root.
// It returns hidden=true, and no error, for a hidden file or a file under a
// hidden directory (see Hidden). Otherwise the leading key=value directory
// segments become the partition keys and values (Hive-unescaped, see
// UnescapePathName); plain directories may follow them (nested data
// directories) but may not precede or separate them.
//
// Errors (plain, without a code: the caller adds the file's name): an
// empty, "." or ".." segment, invalid UTF-8, an empty key or value, a
// value that unescapes to invalid UTF-8, a repeated key, a key=value
// directory after a plain one.
func ParsePath(rel string) (info PathInfo, hidden bool, err error) {
	if rel == "" {
		return PathInfo{}, false, errors.New("empty path")
	}
	if len(rel) > MaxPathLen {
		return PathInfo{}, false, fmt.Errorf("path is longer than %d bytes", MaxPathLen)
	}
	if !utf8.ValidString(rel) {
		return PathInfo{}, false, errors.New("path is not valid UTF-8")
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return PathInfo{}, false, errors.New("path holds a NUL byte")
	}
	segs := strings.Split(rel, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return PathInfo{}, false, fmt.Errorf("path has an empty, \".\" or \"..\" segment")
		}
	}
	// Hidden before partitions: a _temporary/ tree may hold anything, even
	// malformed partition directories, and is never an error.
	for i, s := range segs {
		if Hidden(s, i < len(segs)-1) {
			return PathInfo{}, true, nil
		}
	}
	info.Name = segs[len(segs)-1]
	plain := "" // first plain directory seen
	for _, s := range segs[:len(segs)-1] {
		rawKey, rawValue, ok := strings.Cut(s, "=")
		if !ok {
			if plain == "" {
				plain = s
			}
			continue
		}
		if plain != "" {
			return PathInfo{}, false, fmt.Errorf("partition directory %q is below the plain directory %q: partition directories must come first", s, plain)
		}
		key, kerr := UnescapePathName(rawKey)
		value, verr := UnescapePathName(rawValue)
		switch {
		case rawKey == "":
			return PathInfo{}, false, fmt.Errorf("partition directory %q has an empty key", s)
		case rawValue == "":
			return PathInfo{}, false, fmt.Errorf("partition directory %q has an empty value", s)
		case kerr != nil:
			return PathInfo{}, false, fmt.Errorf("partition directory %q: key %w", s, kerr)
		case verr != nil:
			return PathInfo{}, false, fmt.Errorf("partition directory %q: value %w", s, verr)
		}
		for _, k := range info.Keys {
			if k == key {
				return PathInfo{}, false, fmt.Errorf("partition key %q appears twice", key)
			}
		}
		info.Keys = append(info.Keys, key)
		info.Values = append(info.Values, value)
	}
	return info, false, nil
}

// UnescapePathName undoes Hive's path escaping: "%XY" with two hex digits
// is the byte 0xXY; a "%" not followed by two hex digits stays as it is (as
// in Hive). The result must be valid UTF-8 without NUL.
func UnescapePathName(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(c)
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", fmt.Errorf("%q unescapes to invalid UTF-8", s)
	}
	if strings.IndexByte(out, 0) >= 0 {
		return "", fmt.Errorf("%q unescapes to a NUL byte", s)
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeByte reports whether Hive's FileUtils.escapePathName escapes c.
func escapeByte(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

// EscapePathName escapes a partition key or value for a directory name as
// Hive does (control characters and "#%'*/:=?\{[]^ become %XY), and also
// escapes a leading "." or "_" so that the directory is never hidden.
func EscapePathName(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escapeByte(c) || (i == 0 && (c == '.' || c == '_')) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// PartitionDir returns the directory path "k1=v1/k2=v2/" for keys and
// values (escaped with EscapePathName); a nil or empty value is written as
// NullPartition, as Hive does.
func PartitionDir(keys []string, values []*string) string {
	var b strings.Builder
	for i, k := range keys {
		b.WriteString(EscapePathName(k))
		b.WriteByte('=')
		if values[i] == nil || *values[i] == "" {
			b.WriteString(NullPartition)
		} else {
			b.WriteString(EscapePathName(*values[i]))
		}
		b.WriteByte('/')
	}
	return b.String()
}
