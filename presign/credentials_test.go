package presign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type fakeProvider struct {
	mu    sync.Mutex
	calls int
	next  func(n int) (aws.Credentials, error)
}

func (p *fakeProvider) Retrieve(context.Context) (aws.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.next(p.calls)
}

func (p *fakeProvider) Calls() int { p.mu.Lock(); defer p.mu.Unlock(); return p.calls }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestCredentialsCacheRefreshesBeforeExpiry(t *testing.T) {
	clock := &fakeClock{t: t0}
	p := &fakeProvider{next: func(n int) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: fmt.Sprintf("AKID%d", n), SecretAccessKey: "s", CanExpire: true, Expires: clock.Now().Add(time.Hour)}, nil
	}}
	c := NewCredentialsCache(p, 10*time.Minute, clock.Now)
	get := func() string {
		t.Helper()
		cr, err := c.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return cr.AccessKeyID
	}
	if got := get(); got != "AKID1" || p.Calls() != 1 {
		t.Fatalf("first Retrieve = %s after %d calls", got, p.Calls())
	}
	clock.Advance(49 * time.Minute)
	if got := get(); got != "AKID1" || p.Calls() != 1 {
		t.Fatalf("Retrieve 11 min before expiry = %s after %d calls; want cached AKID1", got, p.Calls())
	}
	clock.Advance(time.Minute + time.Second) // 9m59s before expiry: inside the window
	if got := get(); got != "AKID2" || p.Calls() != 2 {
		t.Fatalf("Retrieve inside refresh window = %s after %d calls; want refreshed AKID2", got, p.Calls())
	}
	// The real expiry is reported, not one shortened by the window.
	cr, _ := c.Retrieve(context.Background())
	if want := clock.Now().Add(time.Hour); !cr.Expires.Equal(want) {
		t.Fatalf("Expires = %s, want %s", cr.Expires, want)
	}
}

func TestCredentialsCacheKeepsValidCredentialsWhenRefreshFails(t *testing.T) {
	clock := &fakeClock{t: t0}
	fail := errors.New("imds unreachable")
	p := &fakeProvider{next: func(n int) (aws.Credentials, error) {
		if n == 1 {
			return aws.Credentials{AccessKeyID: "AKID1", SecretAccessKey: "s", CanExpire: true, Expires: t0.Add(20 * time.Minute)}, nil
		}
		return aws.Credentials{}, fail
	}}
	c := NewCredentialsCache(p, 10*time.Minute, clock.Now)
	if _, err := c.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Minute) // inside the window, refresh fails
	cr, err := c.Retrieve(context.Background())
	if err != nil || cr.AccessKeyID != "AKID1" || p.Calls() != 2 {
		t.Fatalf("got %s, %v after %d calls; want old credentials, no error, 2 calls", cr.AccessKeyID, err, p.Calls())
	}
	clock.Advance(5 * time.Second)
	if _, err := c.Retrieve(context.Background()); err != nil || p.Calls() != 2 {
		t.Fatalf("retried after 5s (%d calls, %v); want a 10s pause", p.Calls(), err)
	}
	clock.Advance(6 * time.Second)
	if _, err := c.Retrieve(context.Background()); err != nil || p.Calls() != 3 {
		t.Fatalf("did not retry after 11s (%d calls, %v)", p.Calls(), err)
	}
	clock.Advance(10 * time.Minute) // old credentials expired, provider still failing
	_, err = c.Retrieve(context.Background())
	if !errors.Is(err, ErrCredentials) || !errors.Is(err, fail) {
		t.Fatalf("expired credentials and failing provider: err = %v, want ErrCredentials wrapping the cause", err)
	}
}

func TestCredentialsCacheShortLivedDoesNotHammer(t *testing.T) {
	clock := &fakeClock{t: t0}
	p := &fakeProvider{next: func(int) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "A", SecretAccessKey: "s", CanExpire: true, Expires: clock.Now().Add(5 * time.Minute)}, nil
	}}
	c := NewCredentialsCache(p, 10*time.Minute, clock.Now)
	for range 100 {
		if _, err := c.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if p.Calls() != 1 {
		t.Fatalf("provider called %d times for credentials shorter than the window; want 1", p.Calls())
	}
}

// TestCredentialsCacheInvalidatesSDKCache: wrapping an aws.CredentialsCache
// (what config.LoadDefaultConfig returns), an early refresh really fetches.
func TestCredentialsCacheInvalidatesSDKCache(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	p := &fakeProvider{next: func(n int) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: fmt.Sprintf("AKID%d", n), SecretAccessKey: "s", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	}}
	c := NewCredentialsCache(aws.NewCredentialsCache(p), 10*time.Minute, clock.Now)
	if cr, _ := c.Retrieve(context.Background()); cr.AccessKeyID != "AKID1" {
		t.Fatalf("got %s", cr.AccessKeyID)
	}
	clock.Advance(55 * time.Minute)
	if cr, _ := c.Retrieve(context.Background()); cr.AccessKeyID != "AKID2" {
		t.Fatalf("early refresh through the SDK cache returned %s, want AKID2", cr.AccessKeyID)
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func TestLoadStaticCredentialsFile(t *testing.T) {
	const good = "access_key_id: AKIAFILE\nsecret_access_key: s3cr3t/+=\nsession_token: tok\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    aws.Credentials
		errMsg  string
	}{
		{"0600", good, 0o600, aws.Credentials{AccessKeyID: "AKIAFILE", SecretAccessKey: "s3cr3t/+=", SessionToken: "tok"}, ""},
		{"0400 no token", "access_key_id: A\nsecret_access_key: S\n", 0o400, aws.Credentials{AccessKeyID: "A", SecretAccessKey: "S"}, ""},
		{"0640 group read", good, 0o640, aws.Credentials{AccessKeyID: "AKIAFILE", SecretAccessKey: "s3cr3t/+=", SessionToken: "tok"}, ""},
		{"world readable", good, 0o644, aws.Credentials{}, "has mode 0644: a secret file must not be accessible by other users"},
		{"group writable", good, 0o660, aws.Credentials{}, "has mode 0660"},
		{"unknown key", good + "region: us-east-1\n", 0o600, aws.Credentials{}, "field error"},
		{"missing secret", "access_key_id: A\n", 0o600, aws.Credentials{}, "access_key_id and secret_access_key are required"},
		{"empty", "", 0o600, aws.Credentials{}, "file is empty"},
		{"not yaml", "s3cr3t-not-yaml: [", 0o600, aws.Credentials{}, "not a YAML mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := LoadStaticCredentialsFile(writeFile(t, "keys.yaml", tt.content, tt.mode))
			if tt.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMsg) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig containing %q", err, tt.errMsg)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error echoes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Retrieve(context.Background())
			if err != nil || got.AccessKeyID != tt.want.AccessKeyID || got.SecretAccessKey != tt.want.SecretAccessKey ||
				got.SessionToken != tt.want.SessionToken || got.CanExpire {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := LoadStaticCredentialsFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// isolateAWSEnv points every AWS SDK source at nothing, so only what a test
// sets is found.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
}

func TestLoadDefaultCredentialsEnv(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	t.Setenv("AWS_SESSION_TOKEN", "envtoken")
	c, err := LoadDefaultCredentials(context.Background(), CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Retrieve(context.Background())
	if err != nil || got.AccessKeyID != "AKIAENV" || got.SecretAccessKey != "envsecret" || got.SessionToken != "envtoken" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestLoadDefaultCredentialsSharedFileProfile(t *testing.T) {
	isolateAWSEnv(t)
	creds := "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n[lake]\naws_access_key_id = AKIALAKE\naws_secret_access_key = l\n"
	if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDefaultCredentials(context.Background(), CredentialOptions{Profile: "lake"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Retrieve(context.Background()); err != nil || got.AccessKeyID != "AKIALAKE" {
		t.Fatalf("got %+v, %v; want profile lake", got, err)
	}
}

// TestLoadDefaultCredentialsInstanceProfile serves IMDSv2 on loopback and
// checks that instance-profile credentials, with their expiry, reach the
// signer and bound the URL's lifetime.
func TestLoadDefaultCredentialsInstanceProfile(t *testing.T) {
	isolateAWSEnv(t)
	expires := time.Now().UTC().Add(8 * time.Minute).Truncate(time.Second)
	var tokenCalls, credCalls int
	var mu sync.Mutex
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			tokenCalls++
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "imds-token")
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token":
			http.Error(w, "no token", http.StatusUnauthorized)
		case strings.HasSuffix(r.URL.Path, "/security-credentials/") || strings.HasSuffix(r.URL.Path, "/security-credentials-extended/"):
			fmt.Fprint(w, "nscale-role")
		case strings.HasSuffix(r.URL.Path, "/nscale-role"):
			credCalls++
			json.NewEncoder(w).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "imdssecret",
				"Token": "imdstoken", "Expiration": expires.Format(time.RFC3339), "LastUpdated": time.Now().UTC().Format(time.RFC3339),
			})
		default:
			http.NotFound(w, r)
		}
	}))
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)

	c, err := LoadDefaultCredentials(context.Background(), CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewS3(S3Config{Region: "us-east-1", Credentials: c})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.SignGet(context.Background(), Object{Bucket: "bucket", Key: "k"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, signed.URL)
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), "ASIAIMDS/") || q.Get("X-Amz-Security-Token") != "imdstoken" {
		t.Fatalf("URL not signed with the instance-profile credentials: %v", q)
	}
	if limit := expires.Add(-DefaultCredentialMargin); signed.Expires.After(limit) {
		t.Fatalf("URL expires %s, after credential expiry %s minus the margin", signed.Expires, expires)
	}
	if credCalls == 0 {
		t.Fatal("IMDS never asked for credentials")
	}
}

// TestLoadDefaultCredentialsWebIdentity: EKS IRSA (web identity token file
// + role ARN) through a loopback STS.
func TestLoadDefaultCredentialsWebIdentity(t *testing.T) {
	isolateAWSEnv(t)
	expires := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	var gotToken string
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "AssumeRoleWithWebIdentity" {
			http.Error(w, "unexpected action "+r.Form.Get("Action"), http.StatusBadRequest)
			return
		}
		gotToken = r.Form.Get("WebIdentityToken")
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>irsasecret</SecretAccessKey>
<SessionToken>irsatoken</SessionToken><Expiration>%s</Expiration></Credentials>
<SubjectFromWebIdentityToken>system:serviceaccount:nscale:controlplane</SubjectFromWebIdentityToken>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/nscale/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`, expires.Format(time.RFC3339))
	}))
	defer sts.Close()
	tokenFile := writeFile(t, "token", "eyJprojected.sa.token", 0o600)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/nscale")
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)

	c, err := LoadDefaultCredentials(context.Background(), CredentialOptions{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != "ASIAIRSA" || got.SessionToken != "irsatoken" || !got.CanExpire || !got.Expires.Equal(expires) {
		t.Fatalf("got %+v; want IRSA credentials expiring %s", got, expires)
	}
	if gotToken != "eyJprojected.sa.token" {
		t.Fatalf("STS saw web identity token %q", gotToken)
	}
}
