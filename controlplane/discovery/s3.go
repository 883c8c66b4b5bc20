package discovery

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/nscale/nscale/internal/apierr"
)

// s3Lister lists a prefix with ListObjectsV2, one page at a time.
type s3Lister struct {
	client   s3.ListObjectsV2APIClient
	loc      Location
	pageSize int32
}

func (l *s3Lister) list(ctx context.Context, fn func(rawFile) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(l.loc.Bucket)}
	if l.loc.Prefix != "" {
		in.Prefix = aws.String(l.loc.Prefix)
	}
	if l.pageSize > 0 {
		in.MaxKeys = aws.Int32(l.pageSize)
	}
	pages := s3.NewListObjectsV2Paginator(l.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return ClassifyS3Error(err, l.loc.String())
		}
		for i := range page.Contents {
			obj := &page.Contents[i]
			key := aws.ToString(obj.Key)
			rel, ok := strings.CutPrefix(key, l.loc.Prefix)
			if !ok || rel == "" || strings.HasSuffix(rel, "/") {
				continue // the prefix itself, or a "directory" marker
			}
			f := rawFile{rel: rel, size: aws.ToInt64(obj.Size), etag: strings.Trim(aws.ToString(obj.ETag), `"`)}
			if obj.LastModified != nil {
				f.modified = obj.LastModified.UTC()
			}
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClassifyS3Error turns an S3 SDK error into an *apierr.Error naming where
// (a location or object URI, never a credential):
//
//	NoSuchBucket, NoSuchKey, 404               NotFound
//	AccessDenied, InvalidAccessKeyId,
//	SignatureDoesNotMatch, expired tokens, 403 PermissionDenied
//	PreconditionFailed, 412                    FailedPrecondition (the object changed)
//	InvalidRange, 416                          InvalidArgument
//	a cancelled context, throttling, 5xx, no answer  Unavailable
//
// The SDK error stays the cause, for logs; it holds request ids, not keys.
func ClassifyS3Error(err error, where string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return apierr.Wrap(apierr.Unavailable, err, "reading %s stopped", where)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code == "NoSuchBucket":
		return apierr.Wrap(apierr.NotFound, err, "bucket of %s does not exist", where)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		return apierr.Wrap(apierr.NotFound, err, "%s does not exist", where)
	case code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem":
		return apierr.Wrap(apierr.PermissionDenied, err, "the control plane may not read %s", where)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" ||
		code == "InvalidToken" || code == "TokenRefreshRequired" || code == "RequestTimeTooSkewed":
		return apierr.Wrap(apierr.PermissionDenied, err, "the object store refused the control plane's credentials (%s) for %s", code, where)
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return apierr.Wrap(apierr.PermissionDenied, err, "the control plane may not read %s", where)
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
		return apierr.Wrap(apierr.FailedPrecondition, err, "%s changed since it was listed", where)
	case code == "InvalidRange" || status == http.StatusRequestedRangeNotSatisfiable:
		return apierr.Wrap(apierr.InvalidArgument, err, "range outside of %s", where)
	case code == "InvalidBucketName":
		return apierr.Wrap(apierr.InvalidArgument, err, "invalid bucket name in %s", where)
	}
	return apierr.Wrap(apierr.Unavailable, err, "the object store did not answer for %s", where)
}
