package discovery

import (
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/nscale/nscale/internal/apierr"
)

// Location schemes.
const (
	SchemeS3   = "s3"
	SchemeFile = "file"
)

// Location is a parsed table location: the root directory of a table.
type Location struct {
	// Scheme is SchemeS3 or SchemeFile.
	Scheme string
	// Bucket is the S3 bucket (s3 only).
	Bucket string
	// Prefix is the S3 key prefix of the table root: "" for a whole bucket,
	// else ending in "/" (s3 only).
	Prefix string
	// Dir is the absolute, cleaned directory of the table (file only).
	Dir string
}

// maxPrefixLen leaves room under S3's 1024-byte key limit for file names.
const maxPrefixLen = 1000

// ParseLocation parses a table location:
//
//	s3://bucket/prefix/     (s3a:// and s3n:// are accepted as s3://)
//	s3://bucket/            a whole bucket
//	file:///abs/dir/        (file:/abs/dir/ is accepted too)
//
// A location names a directory: a missing trailing slash is added. Neither
// form is percent-decoded: "s3://b/my%20t/" is the prefix "my%20t/".
func ParseLocation(s string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, apierr.New(apierr.InvalidArgument, "table location %q: %s", s, why)
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n") {
		return bad("must be valid UTF-8 without NUL or line breaks")
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return bad("want s3://bucket/prefix/ or file:///abs/dir/")
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a", "s3n":
		rest, ok = strings.CutPrefix(rest, "//")
		if !ok {
			return bad("want s3://bucket/prefix/")
		}
		bucket, prefix, _ := strings.Cut(rest, "/")
		if err := checkBucket(bucket); err != "" {
			return bad(err)
		}
		if prefix != "" {
			prefix = strings.TrimSuffix(prefix, "/")
			for seg := range strings.SplitSeq(prefix, "/") {
				if seg == "" || seg == "." || seg == ".." {
					return bad("the prefix must not hold empty, \".\" or \"..\" segments")
				}
			}
			prefix += "/"
			if len(prefix) > maxPrefixLen {
				return bad("the prefix is longer than 1000 bytes")
			}
		}
		return Location{Scheme: SchemeS3, Bucket: bucket, Prefix: prefix}, nil
	case "file":
		var p string
		switch {
		case strings.HasPrefix(rest, "///"):
			p = rest[2:]
		case strings.HasPrefix(rest, "//localhost/"):
			p = rest[len("//localhost"):]
		case strings.HasPrefix(rest, "//"):
			return bad("file locations name no host: want file:///abs/dir/")
		case strings.HasPrefix(rest, "/"):
			p = rest
		default:
			return bad("want an absolute path: file:///abs/dir/")
		}
		for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
			if seg == "." || seg == ".." {
				return bad("the path must not hold \".\" or \"..\" segments")
			}
		}
		if strings.ContainsRune(p, '\\') {
			// The local URL signer refuses backslashes in paths.
			return bad("local paths must not contain a backslash")
		}
		return Location{Scheme: SchemeFile, Dir: filepath.Clean(p)}, nil
	}
	return bad("unsupported scheme " + scheme + ": want s3:// or file://")
}

// checkBucket accepts AWS bucket names and the looser names S3-compatible
// stores allow (upper case, underscores), never a slash or a space.
func checkBucket(b string) string {
	if len(b) < 3 || len(b) > 63 {
		return "the bucket name must be 3-63 characters"
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "the bucket name may hold only letters, digits, dots, hyphens and underscores"
		}
	}
	return ""
}

// String is the canonical form of the location, ending in "/".
func (l Location) String() string {
	switch l.Scheme {
	case SchemeS3:
		return "s3://" + l.Bucket + "/" + l.Prefix
	case SchemeFile:
		if l.Dir == "/" {
			return "file:///"
		}
		return "file://" + filepath.ToSlash(l.Dir) + "/"
	}
	return ""
}

// URI is the location of the object at rel (a path relative to the table
// root, as in Object.Path).
func (l Location) URI(rel string) string { return l.String() + rel }

// Key is the S3 key of the object at rel (s3 only).
func (l Location) Key(rel string) string { return l.Prefix + rel }

// File is the local path of the object at rel (file only).
func (l Location) File(rel string) string { return filepath.Join(l.Dir, filepath.FromSlash(rel)) }
