package presign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/nscale/nscale/internal/s3test"
)

// Tests against a real S3-compatible server: versitygw checks SigV4 query
// signatures and expiry like S3 does.

const vgwBucket = "nscale-presign"

func startGateway(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, vgwBucket)
	return srv
}

func gatewaySigner(t *testing.T, srv *s3test.Server, secret string, now func() time.Time) *S3Signer {
	t.Helper()
	s, err := NewS3(S3Config{
		Region:      srv.Region,
		Endpoint:    srv.Endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, secret, ""),
		Now:         now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fetch(t *testing.T, rawURL, rangeHdr string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("request for %s: %v", rawURL, err)
	}
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, body
}

func TestGatewayGetAndRange(t *testing.T) {
	srv := startGateway(t)
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	srv.PutObject(t, vgwBucket, "tables/t1/part-0.parquet", data)
	s := gatewaySigner(t, srv, srv.SecretKey, nil)
	signed, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "tables/t1/part-0.parquet"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	if code, body := fetch(t, signed.URL, ""); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("full GET = %d %q, want 200 %q\n%s", code, body, data, srv.Log())
	}
	if code, body := fetch(t, signed.URL, "bytes=0-9"); code != http.StatusPartialContent || string(body) != "0123456789" {
		t.Fatalf("Range 0-9 = %d %q, want 206 \"0123456789\"", code, body)
	}
	if code, body := fetch(t, signed.URL, "bytes=30-"); code != http.StatusPartialContent || string(body) != "uvwxyz" {
		t.Fatalf("Range 30- = %d %q, want 206 \"uvwxyz\"", code, body)
	}
	if code, _ := fetch(t, signed.URL, fmt.Sprintf("bytes=%d-%d", len(data)+10, len(data)+20)); code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("Range past end = %d, want 416", code)
	}
}

// TestGatewayRefusesTampering: each change to a signed URL gets 403.
func TestGatewayRefusesTampering(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, vgwBucket, "secret/a.bin", []byte("A"))
	srv.PutObject(t, vgwBucket, "secret/b.bin", []byte("B"))
	s := gatewaySigner(t, srv, srv.SecretKey, nil)
	signed, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "secret/a.bin"}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, signed.URL, ""); code != http.StatusOK {
		t.Fatalf("untampered URL = %d, want 200", code)
	}

	q := mustQuery(t, signed.URL)
	sig := q.Get("X-Amz-Signature")
	flipped := []byte(sig)
	flipped[10] = map[bool]byte{true: 'b', false: 'a'}[flipped[10] == 'a'] // really changes
	if string(flipped) == sig {
		t.Fatal("tampered signature equals the original")
	}
	expires, _ := strconv.Atoi(q.Get("X-Amz-Expires"))

	wrongSecret, err := gatewaySigner(t, srv, srv.SecretKey+"x", nil).SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "secret/a.bin"}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]string{
		"changed signature": strings.Replace(signed.URL, "X-Amz-Signature="+sig, "X-Amz-Signature="+string(flipped), 1),
		"changed key":       strings.Replace(signed.URL, "/secret/a.bin?", "/secret/b.bin?", 1),
		"raised expires":    strings.Replace(signed.URL, "X-Amz-Expires="+q.Get("X-Amz-Expires"), "X-Amz-Expires="+strconv.Itoa(expires+60), 1),
		"wrong secret":      wrongSecret.URL,
	}
	for name, u := range cases {
		if u == signed.URL {
			t.Fatalf("%s: URL unchanged", name)
		}
		if code, body := fetch(t, u, ""); code != http.StatusForbidden {
			t.Errorf("%s: got %d %q, want 403", name, code, body)
		}
	}
}

// TestGatewayExpired: a 1-second URL fetched 2 seconds after signing gets
// 403. Instead of sleeping, the signer's clock is set 2s (and 3s) in the
// past, which is the same to the server; a 10s URL signed with the same
// backdated clock still works, so the 403 is the expiry.
func TestGatewayExpired(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, vgwBucket, "x", []byte("x"))
	for _, back := range []time.Duration{2 * time.Second, 3 * time.Second} {
		past := func() time.Time { return time.Now().Add(-back) }
		s := gatewaySigner(t, srv, srv.SecretKey, past)
		short, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "x"}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !short.Expires.Before(time.Now()) {
			t.Fatalf("URL expires %s, not in the past", short.Expires)
		}
		if code, body := fetch(t, short.URL, ""); code != http.StatusForbidden {
			t.Errorf("1s URL %v after signing: got %d %q, want 403", back, code, body)
		}
		long, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "x"}, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := fetch(t, long.URL, ""); code != http.StatusOK {
			t.Errorf("10s URL %v after signing: got %d, want 200", back, code)
		}
	}
}

// TestGatewaySpecialKeys: keys with characters that need escaping round-trip
// (put with the SDK, get with a pre-signed URL).
func TestGatewaySpecialKeys(t *testing.T) {
	srv := startGateway(t)
	s := gatewaySigner(t, srv, srv.SecretKey, nil)
	// 1024 bytes, with path elements short enough for the gateway's
	// filesystem (255 bytes per name) and non-ASCII ones among them.
	long := "long/"
	for len(long) < 1024-120 {
		long += strings.Repeat("é", 30) + strings.Repeat("y", 50) + "/"
	}
	long += strings.Repeat("z", 1024-len(long)-len(".bin")) + ".bin"
	keys := []string{
		"with space/a b.parquet",
		"plus+sign",
		"percent%20literal%",
		"tilde~and=equals&amp",
		"unicode/é/日本語/ß",
		"emoji/😀🪣.bin",
		"mix/ +%~=&é😀 end",
		"quote'bang!star*(paren)",
		"dt=2024-05-06/region=eu west/part-0.parquet",
		long,
	}
	for i, key := range keys {
		data := []byte(fmt.Sprintf("object %d: %s", i, key))
		srv.PutObject(t, vgwBucket, key, data)
		signed, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: key}, time.Minute)
		if err != nil {
			t.Fatalf("sign %q: %v", key, err)
		}
		code, body := fetch(t, signed.URL, "")
		if code != http.StatusOK || !bytes.Equal(body, data) {
			t.Errorf("key %q (%d bytes): got %d %q, want 200 %q\nURL path %s", key, len(key), code, body, data, pathOf(signed.URL))
		}
	}
	if len(long) != 1024 {
		t.Fatalf("long key is %d bytes, want 1024", len(long))
	}
}

// TestGatewayHostBinding: the URL is bound to the host:port it was signed
// for; the same server under another name refuses it.
func TestGatewayHostBinding(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, vgwBucket, "h", []byte("h"))
	signed, err := gatewaySigner(t, srv, srv.SecretKey, nil).SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "h"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(signed.URL, "127.0.0.1", "localhost", 1)
	if code, _ := fetch(t, other, ""); code != http.StatusForbidden {
		t.Fatalf("URL used under another host name: got %d, want 403", code)
	}
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.EscapedPath()
}

// TestGatewayExpiredAfterWaiting is the literal case: a 1-second URL signed
// now and fetched 2 seconds later is refused as expired.
func TestGatewayExpiredAfterWaiting(t *testing.T) {
	srv := startGateway(t)
	srv.PutObject(t, vgwBucket, "y", []byte("y"))
	s := gatewaySigner(t, srv, srv.SecretKey, time.Now)
	u, err := s.SignGet(context.Background(), Object{Bucket: vgwBucket, Key: "y"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, u.URL, ""); code != http.StatusOK {
		t.Fatalf("fresh 1s URL: %d, want 200", code)
	}
	time.Sleep(2 * time.Second)
	code, body := fetch(t, u.URL, "")
	if code != http.StatusForbidden || !strings.Contains(string(body), "expired") {
		t.Errorf("after 2s: %d %q, want 403 expired", code, body)
	}
}
