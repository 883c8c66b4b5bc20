package presign

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func staticCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
}

func newTestS3(t *testing.T, mod func(*S3Config)) *S3Signer {
	t.Helper()
	cfg := S3Config{Region: "us-east-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true, Credentials: staticCreds(), Now: func() time.Time { return t0 }}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBadInput: each bad input gets a clear error naming the problem, of
// the right kind, and no URL.
func TestBadInput(t *testing.T) {
	s := newTestS3(t, nil)
	tests := []struct {
		name   string
		obj    Object
		ttl    time.Duration
		kind   error
		errMsg string
	}{
		{"empty bucket", Object{Key: "k"}, time.Minute, ErrInvalidBucket, `presign: bucket name is empty`},
		{"short bucket", Object{Bucket: "Ab", Key: "k"}, time.Minute, ErrInvalidBucket,
			`presign: bucket name "Ab" is invalid: must be 3-63 characters of lowercase letters, digits, dots and hyphens`},
		{"upper case bucket", Object{Bucket: "MyBucket", Key: "k"}, time.Minute, ErrInvalidBucket, `must be 3-63 characters of lowercase letters`},
		{"long bucket", Object{Bucket: strings.Repeat("a", 64), Key: "k"}, time.Minute, ErrInvalidBucket, `must be 3-63 characters`},
		{"underscore bucket", Object{Bucket: "my_bucket", Key: "k"}, time.Minute, ErrInvalidBucket, `must be 3-63 characters`},
		{"hyphen first", Object{Bucket: "-bucket", Key: "k"}, time.Minute, ErrInvalidBucket, `must begin and end with a lowercase letter or digit`},
		{"dot last", Object{Bucket: "bucket.", Key: "k"}, time.Minute, ErrInvalidBucket, `must begin and end`},
		{"double dot", Object{Bucket: "my..bucket", Key: "k"}, time.Minute, ErrInvalidBucket, `must not contain two adjacent dots`},
		{"ip bucket", Object{Bucket: "192.168.5.4", Key: "k"}, time.Minute, ErrInvalidBucket, `must not be formatted as an IP address`},
		{"xn prefix", Object{Bucket: "xn--bucket", Key: "k"}, time.Minute, ErrInvalidBucket, `reserved prefix "xn--"`},
		{"s3alias suffix", Object{Bucket: "bucket-s3alias", Key: "k"}, time.Minute, ErrInvalidBucket, `reserved suffix "-s3alias"`},
		{"express suffix", Object{Bucket: "bucket--x-s3", Key: "k"}, time.Minute, ErrInvalidBucket, `reserved suffix "--x-s3"`},
		{"empty key", Object{Bucket: "bucket"}, time.Minute, ErrInvalidKey, `presign: object key is empty`},
		{"key over 1024 bytes", Object{Bucket: "bucket", Key: strings.Repeat("k", 1025)}, time.Minute, ErrInvalidKey,
			`presign: object key is 1025 bytes long: the S3 limit is 1024`},
		{"key over 1024 bytes unicode", Object{Bucket: "bucket", Key: strings.Repeat("é", 513)}, time.Minute, ErrInvalidKey, `1026 bytes long`},
		{"key not utf-8", Object{Bucket: "bucket", Key: "a\xffb"}, time.Minute, ErrInvalidKey, `not valid UTF-8`},
		{"zero ttl", Object{Bucket: "bucket", Key: "k"}, 0, ErrInvalidTTL, `presign: TTL 0s is invalid: must be positive`},
		{"negative ttl", Object{Bucket: "bucket", Key: "k"}, -time.Second, ErrInvalidTTL, `must be positive`},
		{"ttl over 7 days", Object{Bucket: "bucket", Key: "k"}, LimitTTL + time.Second, ErrInvalidTTL, `must be at most 7 days`},
		{"ttl under 1s", Object{Bucket: "bucket", Key: "k"}, 999 * time.Millisecond, ErrInvalidTTL, `must be at least 1s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SignGet(context.Background(), tt.obj, tt.ttl)
			if err == nil {
				t.Fatalf("SignGet succeeded with %q", got.URL)
			}
			if got.URL != "" {
				t.Errorf("URL %q returned with error", got.URL)
			}
			if !errors.Is(err, tt.kind) || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("error %v is not %v and ErrInvalidArgument", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.errMsg) {
				t.Errorf("error %q does not contain %q", err, tt.errMsg)
			}
		})
	}
}

func TestValidBucketsAccepted(t *testing.T) {
	for _, b := range []string{"abc", "my-bucket", "my.bucket.name", "123", "a1-b2.c3", strings.Repeat("a", 63), "1.2.3", "xn-bucket"} {
		if err := ValidateBucket(b); err != nil {
			t.Errorf("ValidateBucket(%q) = %v, want nil", b, err)
		}
	}
}

// TestBadConfig: invalid region and endpoint formats are refused at
// construction with a message naming the problem.
func TestBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		cfg    S3Config
		kind   error
		errMsg string
	}{
		{"empty region", S3Config{}, ErrInvalidRegion, `presign: region is empty`},
		{"aws region format", S3Config{Region: "useast1"}, ErrInvalidRegion, `presign: region "useast1" is invalid: an AWS region looks like us-east-1`},
		{"aws region upper", S3Config{Region: "US-EAST-1"}, ErrInvalidRegion, `is invalid`},
		{"aws-global", S3Config{Region: "aws-global"}, ErrInvalidRegion, `is invalid`},
		{"region injection", S3Config{Region: "us-east-1/../x"}, ErrInvalidRegion, `is invalid`},
		{"custom region format", S3Config{Region: "Auto Region", Endpoint: "http://127.0.0.1:1"}, ErrInvalidRegion, `must be 1-63 lowercase letters`},
		{"endpoint not a URL", S3Config{Region: "us-east-1", Endpoint: "http://[::1"}, ErrInvalidEndpoint, `presign: endpoint "http://[::1" is invalid: not a URL`},
		{"endpoint scheme", S3Config{Region: "us-east-1", Endpoint: "ftp://h"}, ErrInvalidEndpoint, `scheme must be http or https`},
		{"endpoint no scheme", S3Config{Region: "us-east-1", Endpoint: "127.0.0.1:9000"}, ErrInvalidEndpoint, `is invalid`},
		{"endpoint no host", S3Config{Region: "us-east-1", Endpoint: "http:///path"}, ErrInvalidEndpoint, `missing host`},
		{"endpoint user", S3Config{Region: "us-east-1", Endpoint: "http://u:p@h"}, ErrInvalidEndpoint, `must not contain user info`},
		{"endpoint query", S3Config{Region: "us-east-1", Endpoint: "http://h/?a=b"}, ErrInvalidEndpoint, `query or fragment`},
		{"endpoint fragment", S3Config{Region: "us-east-1", Endpoint: "http://h/#f"}, ErrInvalidEndpoint, `query or fragment`},
		{"endpoint port", S3Config{Region: "us-east-1", Endpoint: "http://h:99999"}, ErrInvalidEndpoint, `port`},
		{"endpoint empty port", S3Config{Region: "us-east-1", Endpoint: "http://h:"}, ErrInvalidEndpoint, `empty port`},
		{"endpoint path", S3Config{Region: "us-east-1", Endpoint: "http://h/a%20b"}, ErrInvalidEndpoint, `path may only contain`},
		{"endpoint host", S3Config{Region: "us-east-1", Endpoint: "http://bad_host"}, ErrInvalidEndpoint, `host must be a DNS name`},
		{"endpoint ipv6 zone", S3Config{Region: "us-east-1", Endpoint: "http://[fe80::1%25eth0]:9000"}, ErrInvalidEndpoint, `zones`},
		{"no credentials", S3Config{Region: "us-east-1"}, ErrInvalidConfig, `needs a credentials provider`},
		{"max ttl", S3Config{Region: "us-east-1", MaxTTL: 8 * 24 * time.Hour}, ErrInvalidConfig, `MaxTTL`},
		{"margin", S3Config{Region: "us-east-1", CredentialMargin: -time.Second}, ErrInvalidConfig, `CredentialMargin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Credentials == nil && tt.name != "no credentials" {
				tt.cfg.Credentials = staticCreds()
			}
			s, err := NewS3(tt.cfg)
			if err == nil {
				t.Fatalf("NewS3 succeeded: %+v", s)
			}
			if !errors.Is(err, tt.kind) || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.errMsg) {
				t.Errorf("error %q does not contain %q", err, tt.errMsg)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoint
	}{
		{"http://127.0.0.1:7070", Endpoint{"http", "127.0.0.1:7070", "", true}},
		{"https://s3.example.com/", Endpoint{"https", "s3.example.com", "", false}},
		{"https://s3.example.com:443/a/b/", Endpoint{"https", "s3.example.com:443", "/a/b", false}},
		{"HTTP://[::1]:9000", Endpoint{"http", "[::1]:9000", "", true}},
		{"http://minio", Endpoint{"http", "minio", "", false}},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestTTLPolicy exercises each branch of min(requested, max, credential
// expiry - margin) through SignGet and checks X-Amz-Expires and Expires.
func TestTTLPolicy(t *testing.T) {
	expiring := func(in time.Duration) aws.CredentialsProvider {
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "tok", CanExpire: true, Expires: t0.Add(in)}, nil
		})
	}
	tests := []struct {
		name      string
		maxTTL    time.Duration
		creds     aws.CredentialsProvider
		requested time.Duration
		want      time.Duration // granted; 0 means an error
		kind      error
	}{
		{"requested wins", 0, staticCreds(), 5 * time.Minute, 5 * time.Minute, nil},
		{"default max 15m wins", 0, staticCreds(), time.Hour, 15 * time.Minute, nil},
		{"configured max wins", 2 * time.Minute, staticCreds(), time.Hour, 2 * time.Minute, nil},
		{"7 days allowed with max 7d", LimitTTL, staticCreds(), LimitTTL, LimitTTL, nil},
		{"credential expiry wins", time.Hour, expiring(10 * time.Minute), time.Hour, 9 * time.Minute, nil},
		{"credential expiry wins, inside refresh window", 0, expiring(90 * time.Second), 15 * time.Minute, 30 * time.Second, nil},
		{"fraction truncated", 0, staticCreds(), 90*time.Second + 900*time.Millisecond, 90 * time.Second, nil},
		{"credentials too close to expiry", 0, expiring(time.Minute), 15 * time.Minute, 0, ErrCredentials},
		{"credentials expired", 0, expiring(-time.Second), 15 * time.Minute, 0, ErrCredentials},
		{"zero", 0, staticCreds(), 0, 0, ErrInvalidTTL},
		{"above 7 days even if max is lower", 0, staticCreds(), LimitTTL + time.Hour, 0, ErrInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestS3(t, func(c *S3Config) { c.MaxTTL = tt.maxTTL; c.Credentials = tt.creds })
			got, err := s.SignGet(context.Background(), Object{Bucket: "bucket", Key: "k"}, tt.requested)
			if tt.want == 0 {
				if err == nil || !errors.Is(err, tt.kind) {
					t.Fatalf("got %v, %v; want error %v", got.URL, err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(tt.want); !got.Expires.Equal(want) {
				t.Errorf("Expires = %s, want %s", got.Expires, want)
			}
			if q := mustQuery(t, got.URL); q.Get("X-Amz-Expires") != itoa(int64(tt.want/time.Second)) {
				t.Errorf("X-Amz-Expires = %s, want %d", q.Get("X-Amz-Expires"), int64(tt.want/time.Second))
			}
		})
	}
}

// TestSigningKeyCache: the derived key is reused within a day for the same
// credentials, and re-derived for a new day or new credentials — and every
// URL still matches the SDK.
func TestSigningKeyCache(t *testing.T) {
	var mu sync.Mutex
	now := t0
	creds := aws.Credentials{AccessKeyID: "AKID1", SecretAccessKey: "secret1"}
	c := sdkCase{Region: "eu-west-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true, Bucket: "bucket", Key: "a/b", TTL: time.Minute}
	s, err := NewS3(S3Config{
		Region: c.Region, Endpoint: c.Endpoint, PathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			return creds, nil
		}),
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The signer wraps the provider in a CredentialsCache; static
	// credentials never refresh, so swap the cache's content directly.
	setCreds := func(cr aws.Credentials) {
		mu.Lock()
		creds = cr
		mu.Unlock()
		s.creds.(*CredentialsCache).cur.Store(nil)
	}
	sign := func() string {
		got, err := s.SignGet(context.Background(), Object{Bucket: c.Bucket, Key: c.Key}, c.TTL)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		c.At, c.Creds = now, creds
		mu.Unlock()
		want, err := sdkPresignURL(newSDKPresigner(c), c)
		if err != nil || got.URL != want {
			t.Fatalf("URL %s\n!= SDK %s (%v)", got.URL, want, err)
		}
		return got.URL
	}
	sign()
	k1 := s.key.Load()
	now = t0.Add(3 * time.Hour) // same day
	sign()
	if s.key.Load() != k1 {
		t.Fatal("signing key re-derived within the same day")
	}
	now = t0.Add(24 * time.Hour)
	sign()
	k2 := s.key.Load()
	if k2 == k1 || string(k2.date[:]) != "20240507" {
		t.Fatalf("signing key not re-derived for a new day: %s", k2.date)
	}
	setCreds(aws.Credentials{AccessKeyID: "AKID2", SecretAccessKey: "secret2"})
	sign()
	if k3 := s.key.Load(); k3 == k2 || k3.akid != "AKID2" {
		t.Fatal("signing key not re-derived for new credentials")
	}
	setCreds(aws.Credentials{AccessKeyID: "AKID2", SecretAccessKey: "rotated-secret"})
	sign() // same key id, new secret: must not reuse the old key
}

// TestConcurrentSigning signs from many goroutines sharing one signer
// (its key cache and buffer pool) with alternating credentials and days (run
// with -race); every URL must match the SDK's.
func TestConcurrentSigning(t *testing.T) {
	credSets := []aws.Credentials{
		{AccessKeyID: "AKIDA", SecretAccessKey: "secretA"},
		{AccessKeyID: "AKIDB", SecretAccessKey: "secretB", SessionToken: "tok+/="},
	}
	s := newTestS3(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for n := range 40 {
				c := sdkCase{
					Region: "us-east-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true,
					Creds:  credSets[(g+n)%2],
					Bucket: "bucket", Key: "k/" + itoa(int64(g*100+n)) + "/ü",
					At:  t0.Add(time.Duration((g+n)%3) * 24 * time.Hour),
					TTL: time.Minute,
				}
				got := s.sign(&c.Creds, c.Bucket, c.Key, c.At, 60)
				want, err := sdkPresignURL(newSDKPresigner(c), c)
				if err != nil || want != got {
					errs <- errors.New("mismatch:\n" + got + "\n" + want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
