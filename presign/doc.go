// Package presign turns storage credentials into short-lived URLs that an
// unprivileged agent fetches with plain HTTP GET and Range requests. It
// imports no other nscale package.
//
// Two signers implement Signer:
//
//   - S3Signer: a hand-written SigV4 query signer for S3 and S3-compatible
//     stores (path-style or virtual-host URLs, custom endpoints, any region,
//     temporary credentials via X-Amz-Security-Token). Its URLs are
//     byte-identical to aws-sdk-go-v2's s3.PresignClient.PresignGetObject for
//     the same inputs and signing instant — same parameters, order, escaping
//     and signature — which a golden test checks on random cases. It costs
//     one allocation (the URL) and about a microsecond per URL: the derived
//     signing key is cached per (date, region, service, access key) and the
//     working buffers are pooled.
//   - FileSigner: an HMAC-SHA256 signer for local (file://) tables, whose URLs
//     FileServer verifies and serves.
//
// # The x-id parameter
//
// The SDK adds x-id=GetObject to every GetObject URL (it is part of the
// operation's URI template). S3 ignores it, but it is covered by the
// signature, and dropping it would make our URLs differ from the SDK's. We
// keep it: URLs stay byte-identical, so the SDK is a complete oracle for
// tests. The SDK adds no checksum-mode parameter to a presigned GetObject
// unless the caller asks for one, and neither do we. Response overrides
// (response-content-type, ...) and requester-pays are not supported.
//
// One deliberate difference: with an IP-address endpoint, URLs are always
// path-style. The SDK, asked for virtual-host style, puts a dotted bucket in
// front of the IP address (http://a.b.127.0.0.1:7070/key), which never
// resolves, and fails for IPv6.
//
// # TTL policy
//
// Every URL lives min(requested TTL, MaxTTL (default 15 min), credential
// expiry - CredentialMargin (default 1 min)), in whole seconds. A requested
// TTL <= 0, below one second, or above 7 days (the S3 limit) is an error.
// Signed.Expires is the exact instant the URL stops working.
//
// # Credentials
//
// LoadDefaultCredentials uses the AWS SDK's default chain (environment,
// shared files, web identity / EKS IRSA, container credentials, EC2
// instance profile) behind a CredentialsCache that refreshes 10 minutes
// before expiry; LoadStaticCredentialsFile reads static keys for
// S3-compatible stores from a YAML file of mode 0600 (see StaticKeyFile).
//
// # Errors
//
// Bad input returns an error that wraps ErrInvalidArgument and one of
// ErrInvalidBucket, ErrInvalidKey, ErrInvalidTTL, ErrInvalidRegion,
// ErrInvalidEndpoint or ErrInvalidConfig, with a message naming the problem;
// credential trouble wraps ErrCredentials. No URL is returned with an error.
//
// Pre-signed URLs are bearer tokens: log them only through
// internal/redact.URL.
package presign
