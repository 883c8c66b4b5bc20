package presign

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FuzzFileVerify throws arbitrary request paths and queries at the local
// signer's handler. Without the key nothing may be served: only 403, 404 or
// 405, and never a panic.
func FuzzFileVerify(f *testing.F) {
	f.Add("GET", "/blob/t/a.parquet", "X-Nscale-Expires=1700000000&X-Nscale-Signature=00")
	f.Add("GET", "/blob/../etc/passwd", "X-Nscale-Expires=9999999999&X-Nscale-Signature="+strings.Repeat("a", 64))
	f.Add("HEAD", "/blob/a", "X-Nscale-Signature=&X-Nscale-Expires=")
	f.Add("POST", "/x", "")
	root := f.TempDir()
	h := FileServer(root, testKey[:], func() time.Time { return t0 })
	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		if !validMethod(method) {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method, req.URL.Path, req.URL.RawQuery = method, path, rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q ? %q: status %d", method, path, rawQuery, rec.Code)
		}
		if p, ok := verifyBlob(testKey, method, path, rawQuery, t0); ok {
			t.Fatalf("forged signature accepted for %q", p)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// FuzzFileSignVerify: any path the signer accepts round-trips through the
// URL (escaping, the server's decoding) and verifies; changing any single
// byte of the query then fails.
func FuzzFileSignVerify(f *testing.F) {
	f.Add("sales/dt=2024-05-06/part 0+é.parquet", uint16(0))
	f.Add("a", uint16(5))
	f.Add("😀/%/+/~/=/&/#/?", uint16(77))
	s, err := NewFileSigner(FileConfig{BaseURL: "http://127.0.0.1:8080", Key: testKey, Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string, flip uint16) {
		signed, err := s.SignGet(context.Background(), Object{Key: p}, time.Minute)
		if err != nil {
			if ValidateLocalPath(p) == nil {
				t.Fatalf("valid path %q refused: %v", p, err)
			}
			return
		}
		u, err := url.Parse(signed.URL)
		if err != nil {
			t.Fatalf("signed URL %q does not parse: %v", signed.URL, err)
		}
		got, ok := verifyBlob(testKey, http.MethodGet, u.Path, u.RawQuery, t0)
		if !ok || got != p {
			t.Fatalf("round trip of %q: got %q, %v (URL %s)", p, got, ok, signed.URL)
		}
		if _, ok := verifyBlob(testKey, http.MethodGet, u.Path, u.RawQuery, signed.Expires.Add(time.Second)); ok {
			t.Fatal("verified after expiry")
		}
		q := []byte(u.RawQuery)
		i := int(flip) % len(q)
		q[i] ^= 1 + byte(flip>>8)%0x7f
		if _, ok := verifyBlob(testKey, http.MethodGet, u.Path, string(q), t0); ok {
			t.Fatalf("query %q (changed at %d) still verifies", q, i)
		}
	})
}

// FuzzParseEndpoint: an accepted endpoint yields URLs that parse, name the
// endpoint's host, and equal the SDK's.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:7070", "https://s3.example.com/a/b/", "http://[::1]:9000", "HTTP://Minio:80", "http://h:0", "http://a..b"} {
		f.Add(s, "my-bucket", false)
	}
	f.Fuzz(func(t *testing.T, raw, bucket string, pathStyle bool) {
		ep, err := ParseEndpoint(raw)
		if err != nil || ValidateBucket(bucket) != nil {
			return
		}
		c := sdkCase{Region: "us-east-1", Endpoint: raw, PathStyle: pathStyle, Bucket: bucket, Key: "k/é",
			Creds: aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s"}, At: t0, TTL: time.Minute}
		if ep.IsIP && strings.Contains(bucket, ".") {
			c.PathStyle = true // see S3Signer.virtualHost
		}
		got := mustSign(t, c)
		u, err := url.Parse(got.URL)
		if err != nil || u.Scheme != ep.Scheme || (u.Host != ep.Authority && u.Host != bucket+"."+ep.Authority) {
			t.Fatalf("endpoint %q: URL %q (%v)", raw, got.URL, err)
		}
		want, err := sdkPresignURL(newSDKPresigner(c), c)
		if err != nil {
			t.Fatalf("endpoint %q accepted here but the SDK fails: %v", raw, err)
		}
		if got.URL != want {
			t.Fatalf("endpoint %q bucket %q pathStyle %v:\n got %s\nwant %s", raw, bucket, c.PathStyle, got.URL, want)
		}
	})
}

// FuzzS3Key: every key the signer accepts signs like the SDK and its URL
// decodes back to the key.
func FuzzS3Key(f *testing.F) {
	for _, k := range []string{"a b+c%d~e=f&g", "😀", "/lead//x/", "..", "a/./b", strings.Repeat("é", 512), "\x00\x01", "?#"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		c := sdkCase{Region: "us-west-2", Endpoint: "http://127.0.0.1:7070", PathStyle: true, Bucket: "bucket", Key: key,
			Creds: aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", SessionToken: "t"}, At: t0, TTL: time.Minute}
		s, err := ourSigner(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.SignGet(context.Background(), Object{Bucket: c.Bucket, Key: key}, c.TTL)
		if err != nil {
			if validateKey(key) == nil {
				t.Fatalf("valid key %q refused: %v", key, err)
			}
			return
		}
		want, err := sdkPresignURL(newSDKPresigner(c), c)
		if err != nil || got.URL != want {
			t.Fatalf("key %q:\n got %s\nwant %s (%v)", key, got.URL, want, err)
		}
		u, err := url.Parse(got.URL)
		if err != nil || u.Path != "/bucket/"+key {
			t.Fatalf("key %q: URL path decodes to %q (%v)", key, u.Path, err)
		}
	})
}
