package presign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"gopkg.in/yaml.v3"
)

// DefaultRefreshBefore is how long before their expiry a CredentialsCache
// replaces expiring credentials when RefreshBefore is zero.
const DefaultRefreshBefore = 10 * time.Minute

// retryAfter is how long a CredentialsCache waits before asking its provider
// again after a failed refresh (while the old credentials are still valid),
// or after a refresh that returned credentials already inside the refresh
// window.
const retryAfter = 10 * time.Second

// CredentialsCache is an aws.CredentialsProvider that caches the credentials
// of another provider and replaces them RefreshBefore their expiry. Unlike
// aws.CredentialsCache it reports the credentials' real expiry, so a signer
// can bound URL lifetimes by it, and it refreshes early enough that signing
// never stalls near the expiry. If a refresh fails while the cached
// credentials are still valid, it keeps serving them and retries after 10s.
// Safe for concurrent use; the fast path is one atomic load.
type CredentialsCache struct {
	provider      aws.CredentialsProvider
	refreshBefore time.Duration
	now           func() time.Time

	cur       atomic.Pointer[cachedCreds]
	refreshMu sync.Mutex
}

type cachedCreds struct {
	creds     aws.Credentials
	notBefore time.Time // no refresh attempt before this instant
}

// NewCredentialsCache wraps provider. refreshBefore <= 0 means
// DefaultRefreshBefore; now nil means time.Now. If provider is an
// aws.CredentialsCache (as config.LoadDefaultConfig returns), it is
// invalidated before each refresh so that it really fetches new credentials.
func NewCredentialsCache(provider aws.CredentialsProvider, refreshBefore time.Duration, now func() time.Time) *CredentialsCache {
	if refreshBefore <= 0 {
		refreshBefore = DefaultRefreshBefore
	}
	if now == nil {
		now = time.Now
	}
	return &CredentialsCache{provider: provider, refreshBefore: refreshBefore, now: now}
}

// Retrieve returns valid credentials, refreshing them when they are within
// RefreshBefore of their expiry.
func (c *CredentialsCache) Retrieve(ctx context.Context) (aws.Credentials, error) {
	now := c.now()
	if cur := c.cur.Load(); cur != nil && c.fresh(cur, now) {
		return cur.creds, nil
	}
	return c.refresh(ctx)
}

func (c *CredentialsCache) fresh(cur *cachedCreds, now time.Time) bool {
	if !cur.creds.CanExpire {
		return true
	}
	if !now.Before(cur.creds.Expires) {
		return false
	}
	return now.Before(cur.creds.Expires.Add(-c.refreshBefore)) || now.Before(cur.notBefore)
}

func (c *CredentialsCache) refresh(ctx context.Context) (aws.Credentials, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	now := c.now()
	cur := c.cur.Load()
	if cur != nil && c.fresh(cur, now) {
		return cur.creds, nil // another caller refreshed meanwhile
	}
	if inv, ok := c.provider.(interface{ Invalidate() }); ok && cur != nil {
		inv.Invalidate()
	}
	creds, err := c.provider.Retrieve(ctx)
	if err == nil && creds.CanExpire && !now.Before(creds.Expires) {
		err = fmt.Errorf("provider %q returned credentials that expired at %s", creds.Source, creds.Expires.UTC().Format(time.RFC3339))
	}
	if err == nil && (creds.AccessKeyID == "" || creds.SecretAccessKey == "") {
		err = fmt.Errorf("provider %q returned credentials without an access key id or secret", creds.Source)
	}
	if err != nil {
		if cur != nil && cur.creds.CanExpire && now.Before(cur.creds.Expires) {
			// Keep serving the old credentials; try again soon.
			c.cur.Store(&cachedCreds{creds: cur.creds, notBefore: now.Add(retryAfter)})
			return cur.creds, nil
		}
		return aws.Credentials{}, credError("presign: retrieve credentials", err)
	}
	next := &cachedCreds{creds: creds}
	if creds.CanExpire && !now.Before(creds.Expires.Add(-c.refreshBefore)) {
		// Fresh from the provider yet already inside the refresh window
		// (short-lived session): do not ask again on every call.
		next.notBefore = now.Add(retryAfter)
	}
	c.cur.Store(next)
	return creds, nil
}

// CredentialOptions configure LoadDefaultCredentials.
type CredentialOptions struct {
	// Profile selects a shared config/credentials profile; empty means
	// AWS_PROFILE or "default".
	Profile string
	// Region is used by providers that call AWS (STS for web identity /
	// IRSA, SSO); empty means the SDK's own resolution (AWS_REGION, profile).
	Region string
	// RefreshBefore: see NewCredentialsCache.
	RefreshBefore time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LoadDefaultCredentials resolves credentials the way the AWS SDK does
// (config.LoadDefaultConfig): environment (AWS_ACCESS_KEY_ID, ...), shared
// config and credentials files, web identity (EKS IRSA:
// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), ECS/EKS Pod Identity container
// credentials, and the EC2 instance profile (IMDS). The result is a
// CredentialsCache. Nothing is fetched until the first Retrieve.
func LoadDefaultCredentials(ctx context.Context, o CredentialOptions) (*CredentialsCache, error) {
	var opts []func(*config.LoadOptions) error
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, credError("presign: load AWS configuration", err)
	}
	if cfg.Credentials == nil {
		return nil, credError("presign: no AWS credentials provider found", nil)
	}
	return NewCredentialsCache(cfg.Credentials, o.RefreshBefore, o.Now), nil
}

// StaticKeyFile is the format of a static key file for S3-compatible stores
// (YAML, unknown keys are an error):
//
//	access_key_id: AKIAEXAMPLE
//	secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
//	session_token: ""   # optional
type StaticKeyFile struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
}

// LoadStaticCredentialsFile reads a StaticKeyFile. The file must not be
// accessible by "other" users nor writable by its group (0600, 0400 or 0640
// with a dedicated group); anything looser is refused. The credentials do not
// expire and are read once: restart to rotate them.
func LoadStaticCredentialsFile(path string) (aws.CredentialsProvider, error) {
	data, err := readSecretFile(path, 64<<10)
	if err != nil {
		return nil, err
	}
	var f StaticKeyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml errors quote lines of the input; keep secrets out of the message.
		return nil, inputError(ErrInvalidConfig, fmt.Sprintf("presign: static key file %s is not valid: %s", path, yamlErrorSummary(err)))
	}
	if f.AccessKeyID == "" || f.SecretAccessKey == "" {
		return nil, inputError(ErrInvalidConfig, "presign: static key file "+path+" is not valid: access_key_id and secret_access_key are required")
	}
	return staticProvider{aws.Credentials{
		AccessKeyID:     f.AccessKeyID,
		SecretAccessKey: f.SecretAccessKey,
		SessionToken:    f.SessionToken,
		Source:          "nscale static key file",
	}}, nil
}

// yamlErrorSummary describes a YAML decode error without echoing the
// document's values.
func yamlErrorSummary(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%d field error(s) (unknown key or wrong type); expected access_key_id, secret_access_key and optional session_token", len(te.Errors))
	}
	if errors.Is(err, io.EOF) {
		return "file is empty"
	}
	return "not a YAML mapping of access_key_id, secret_access_key and optional session_token"
}

type staticProvider struct{ creds aws.Credentials }

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) { return p.creds, nil }

// readSecretFile reads a small secret file after checking its permissions.
func readSecretFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputError(ErrInvalidConfig, "presign: open secret file: "+err.Error())
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, inputError(ErrInvalidConfig, "presign: stat secret file: "+err.Error())
	}
	if !fi.Mode().IsRegular() {
		return nil, inputError(ErrInvalidConfig, "presign: secret file "+path+" is not a regular file")
	}
	// The same rule as internal/secretfile's (presign imports no project
	// package): 0440 with the service's group is how Kubernetes mounts a
	// Secret for a non-root pod.
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return nil, inputError(ErrInvalidConfig, fmt.Sprintf("presign: secret file %s has mode %04o: a secret file must not be accessible by other users nor writable by its group (chmod 600, or 0440 with a group of the service)", path, perm))
	}
	if fi.Size() > limit {
		return nil, inputError(ErrInvalidConfig, fmt.Sprintf("presign: secret file %s is larger than %d bytes", path, limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, inputError(ErrInvalidConfig, "presign: read secret file: "+err.Error())
	}
	if int64(len(data)) > limit {
		return nil, inputError(ErrInvalidConfig, fmt.Sprintf("presign: secret file %s is larger than %d bytes", path, limit))
	}
	return data, nil
}
