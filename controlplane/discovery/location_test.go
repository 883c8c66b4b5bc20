package discovery

import (
	"testing"

	"github.com/nscale/nscale/internal/apierr"
)

func TestParseLocation(t *testing.T) {
	ok := []struct {
		in   string
		want Location
		str  string
	}{
		{"s3://bucket/prefix/", Location{Scheme: "s3", Bucket: "bucket", Prefix: "prefix/"}, "s3://bucket/prefix/"},
		{"s3://bucket/a/b", Location{Scheme: "s3", Bucket: "bucket", Prefix: "a/b/"}, "s3://bucket/a/b/"},
		{"s3a://bucket/t/", Location{Scheme: "s3", Bucket: "bucket", Prefix: "t/"}, "s3://bucket/t/"},
		{"S3N://my.bucket-1/t", Location{Scheme: "s3", Bucket: "my.bucket-1", Prefix: "t/"}, "s3://my.bucket-1/t/"},
		{"s3://bucket", Location{Scheme: "s3", Bucket: "bucket"}, "s3://bucket/"},
		{"s3://bucket/", Location{Scheme: "s3", Bucket: "bucket"}, "s3://bucket/"},
		{"s3://bucket/my%20t/ü/", Location{Scheme: "s3", Bucket: "bucket", Prefix: "my%20t/ü/"}, "s3://bucket/my%20t/ü/"},
		{"file:///data/t/", Location{Scheme: "file", Dir: "/data/t"}, "file:///data/t/"},
		{"file:///data/t", Location{Scheme: "file", Dir: "/data/t"}, "file:///data/t/"},
		{"file:/data//t/", Location{Scheme: "file", Dir: "/data/t"}, "file:///data/t/"},
		{"file://localhost/data/t/", Location{Scheme: "file", Dir: "/data/t"}, "file:///data/t/"},
		{"file:///", Location{Scheme: "file", Dir: "/"}, "file:///"},
	}
	for _, c := range ok {
		got, err := ParseLocation(c.in)
		if err != nil {
			t.Errorf("ParseLocation(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseLocation(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("ParseLocation(%q).String() = %q, want %q", c.in, got.String(), c.str)
		}
		again, err := ParseLocation(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), again, err)
		}
	}
	bad := []string{
		"", "bucket/prefix", "http://x/y", "s3:/bucket/x", "s3://", "s3://ab/x", "s3://bucket name/x",
		"s3://bucket/a//b/", "s3://bucket/../x", "s3://bucket/./x", "file://host/data", "file:data",
		"file:///data/../etc", "s3://bucket/x\n", "s3://bucket/\xff",
	}
	for _, in := range bad {
		if _, err := ParseLocation(in); !apierr.Is(err, apierr.InvalidArgument) {
			t.Errorf("ParseLocation(%q) = %v, want InvalidArgument", in, err)
		}
	}
}

func TestLocationPaths(t *testing.T) {
	s3loc, _ := ParseLocation("s3://bkt/t/")
	if got := s3loc.Key("dt=1/a.parquet"); got != "t/dt=1/a.parquet" {
		t.Errorf("Key = %q", got)
	}
	if got := s3loc.URI("dt=1/a.parquet"); got != "s3://bkt/t/dt=1/a.parquet" {
		t.Errorf("URI = %q", got)
	}
	fl, _ := ParseLocation("file:///d/t/")
	if got := fl.File("dt=1/a.parquet"); got != "/d/t/dt=1/a.parquet" {
		t.Errorf("File = %q", got)
	}
}
