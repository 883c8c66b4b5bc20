package presign

import (
	"context"
	"strconv"
	"time"
)

// Signer signs a GET of one object for a limited time. Implementations are
// safe for concurrent use.
type Signer interface {
	// SignGet returns a URL that allows an unauthenticated HTTP GET (with
	// Range) of obj until the returned Signed.Expires. The TTL actually
	// granted is min(ttl, the signer's MaxTTL, credential expiry - margin);
	// see EffectiveTTL.
	SignGet(ctx context.Context, obj Object, ttl time.Duration) (Signed, error)
}

// Object names what to sign.
type Object struct {
	// Bucket is the S3 bucket. It must be empty for the local file signer.
	Bucket string
	// Key is the S3 object key (1-1024 bytes of UTF-8), or for the local
	// file signer the slash-separated path of the file relative to the
	// table root (no leading slash, no "." or ".." elements).
	Key string
}

// Signed is a pre-signed URL and the exact instant it stops working.
type Signed struct {
	URL string
	// Expires is the signing instant (truncated to the second) plus the
	// granted TTL in whole seconds; the server refuses the URL after it.
	Expires time.Time
}

const (
	// DefaultMaxTTL is the longest URL lifetime granted when a signer's
	// MaxTTL is zero.
	DefaultMaxTTL = 15 * time.Minute
	// LimitTTL is the longest lifetime S3 accepts for a SigV4 query
	// signature (X-Amz-Expires = 604800). It also bounds the local signer.
	LimitTTL = 7 * 24 * time.Hour
	// DefaultCredentialMargin is how long before the credentials' expiry
	// every URL must expire when a signer's CredentialMargin is zero.
	DefaultCredentialMargin = time.Minute
)

// EffectiveTTL applies the TTL policy and returns the whole number of seconds
// to grant:
//
//	min(requested, maxTTL, credExpires - margin - signedAt)
//
// signedAt must already be truncated to the second (SigV4 dates have second
// precision). requested <= 0 or > LimitTTL is an error; maxTTL <= 0 means
// DefaultMaxTTL. If canExpire is false the credential bound does not apply.
// The result is at least one second, or an error: an ErrCredentials error
// when the credential bound leaves less than one second.
func EffectiveTTL(requested, maxTTL time.Duration, signedAt time.Time, canExpire bool, credExpires time.Time, margin time.Duration) (int64, error) {
	if requested <= 0 {
		return 0, inputError(ErrInvalidTTL, "presign: TTL "+requested.String()+" is invalid: must be positive")
	}
	if requested > LimitTTL {
		return 0, inputError(ErrInvalidTTL, "presign: TTL "+requested.String()+" is invalid: must be at most 7 days (168h0m0s), the S3 limit")
	}
	if maxTTL <= 0 {
		maxTTL = DefaultMaxTTL
	}
	ttl := min(requested, maxTTL)
	if canExpire {
		left := credExpires.Add(-margin).Sub(signedAt)
		if left < time.Second {
			return 0, credError("presign: credentials expire at "+credExpires.UTC().Format(time.RFC3339)+
				", less than the "+margin.String()+" safety margin plus 1s from now; cannot sign", nil)
		}
		ttl = min(ttl, left)
	}
	secs := int64(ttl / time.Second)
	if secs < 1 {
		return 0, inputError(ErrInvalidTTL, "presign: TTL "+requested.String()+" is invalid: must be at least 1s")
	}
	return secs, nil
}

// validateMaxTTL checks a configured maximum TTL and returns it with the
// default applied.
func validateMaxTTL(d time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return DefaultMaxTTL, nil
	case d < time.Second || d > LimitTTL:
		return 0, inputError(ErrInvalidConfig, "presign: MaxTTL "+d.String()+" is invalid: must be between 1s and 7 days")
	}
	return d, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
