package schema

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nscale/nscale/controlplane/discovery"
	"github.com/nscale/nscale/internal/apierr"
)

// S3API is what the S3 adapter needs of a client; *s3.Client satisfies it.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// S3ReaderAt reads an S3 object with one ranged GetObject per ReadAt. It
// binds the context it was made with, since io.ReaderAt takes none. With
// an ETag every request carries If-Match, so an object replaced since it
// was listed fails with FailedPrecondition instead of mixing two versions.
// Safe for concurrent use.
type S3ReaderAt struct {
	ctx      context.Context
	client   S3API
	bucket   string
	key      string
	size     int64
	etag     string
	name     string
	bytes    atomic.Int64
	requests atomic.Int64
}

// NewS3ReaderAt reads bucket/key, whose size (and ETag, "" for none) come
// from a listing (discovery.Object) or StatS3.
func NewS3ReaderAt(ctx context.Context, client S3API, bucket, key string, size int64, etag string) *S3ReaderAt {
	return &S3ReaderAt{ctx: ctx, client: client, bucket: bucket, key: key, size: size, etag: etag, name: "s3://" + bucket + "/" + key}
}

// Size is the object's size.
func (r *S3ReaderAt) Size() int64 { return r.size }

// BytesRead and Requests count what ReadAt fetched so far.
func (r *S3ReaderAt) BytesRead() int64 { return r.bytes.Load() }
func (r *S3ReaderAt) Requests() int64  { return r.requests.Load() }

// ReadAt reads len(p) bytes at off with a ranged GET ("bytes=off-end").
// Reading past Size returns io.EOF.
func (r *S3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, apierr.New(apierr.InvalidArgument, "negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.bucket),
		Key:    aws.String(r.key),
		Range:  aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+want-1, 10)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(`"` + r.etag + `"`)
	}
	r.requests.Add(1)
	out, err := r.client.GetObject(r.ctx, in)
	if err != nil {
		return 0, discovery.ClassifyS3Error(err, r.name)
	}
	defer out.Body.Close()
	// A store that ignores Range answers 200 with the whole object: its
	// first bytes are not the ones asked for.
	if cr := aws.ToString(out.ContentRange); !strings.HasPrefix(cr, "bytes "+strconv.FormatInt(off, 10)+"-") && (cr != "" || off != 0) {
		return 0, apierr.New(apierr.Unavailable, "the object store did not honour the range request for %s (Content-Range %q)", r.name, cr)
	}
	n, err := io.ReadFull(out.Body, p[:want])
	r.bytes.Add(int64(n))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return n, apierr.New(apierr.FailedPrecondition, "%s is shorter than its listed size %d (changed since it was listed?)", r.name, r.size)
		}
		return n, discovery.ClassifyS3Error(err, r.name)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// StatS3 returns an object's size and ETag (HeadObject), for when no
// listing gave them.
func StatS3(ctx context.Context, client S3API, bucket, key string) (size int64, etag string, err error) {
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, "", discovery.ClassifyS3Error(err, "s3://"+bucket+"/"+key)
	}
	return aws.ToInt64(out.ContentLength), trimQuotes(aws.ToString(out.ETag)), nil
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// File is an opened data file: a ReaderAt, its size and its URI.
type File struct {
	io.ReaderAt
	Size int64
	// Name is the file's URI (s3://bucket/key or file:///path), for messages.
	Name  string
	close func() error
}

// Close releases the file (a no-op for S3).
func (f *File) Close() error {
	if f.close == nil {
		return nil
	}
	return f.close()
}

// Section returns a reader over the whole file (for InferCSV, InferJSON).
func (f *File) Section() *io.SectionReader { return io.NewSectionReader(f.ReaderAt, 0, f.Size) }

// OpenLocal opens a local file. Errors: NotFound, PermissionDenied,
// InvalidArgument (not a regular file), Unavailable.
func OpenLocal(path string) (*File, error) {
	name := "file://" + path
	fh, err := os.Open(path)
	if err != nil {
		return nil, localError(err, name)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, localError(err, name)
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, apierr.New(apierr.InvalidArgument, "%s is not a regular file", name)
	}
	return &File{ReaderAt: fh, Size: st.Size(), Name: name, close: fh.Close}, nil
}

// openConfined opens path, which must lie under root, through an os.Root.
func openConfined(root, path string) (*File, error) {
	name := "file://" + path
	if root == "" {
		return nil, apierr.New(apierr.FailedPrecondition, "file:// tables are disabled: local_files.root is not set")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, apierr.Wrap(apierr.FailedPrecondition, err, "local_files.root")
	}
	rel, err := filepath.Rel(abs, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, apierr.New(apierr.PermissionDenied, "%s is outside local_files.root", name)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, apierr.Wrap(apierr.FailedPrecondition, err, "local_files.root is not readable")
	}
	defer r.Close()
	fh, err := r.Open(rel)
	if err != nil {
		if strings.Contains(err.Error(), "path escapes from parent") {
			return nil, apierr.Wrap(apierr.PermissionDenied, err, "%s leads outside local_files.root", name)
		}
		return nil, localError(err, name)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, localError(err, name)
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, apierr.New(apierr.InvalidArgument, "%s is not a regular file", name)
	}
	return &File{ReaderAt: fh, Size: st.Size(), Name: name, close: fh.Close}, nil
}

func localError(err error, name string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return apierr.Wrap(apierr.NotFound, err, "%s does not exist", name)
	case errors.Is(err, fs.ErrPermission):
		return apierr.Wrap(apierr.PermissionDenied, err, "the control plane may not read %s", name)
	}
	return apierr.Wrap(apierr.Unavailable, err, "could not open %s", name)
}

// Open opens a listed object of the table at loc: a local file under
// localRoot, or an S3 object read with ranged GETs (client may be nil for
// file:// locations). The context bounds every read of an S3 object.
//
// Local files are opened through an os.Root at localRoot, as the /blob/
// server does: a path or a symlink that leads outside it (one swapped in
// after the listing, say) is refused, not read.
func Open(ctx context.Context, loc discovery.Location, obj discovery.Object, client S3API, localRoot string) (*File, error) {
	switch loc.Scheme {
	case discovery.SchemeFile:
		f, err := openConfined(localRoot, loc.File(obj.Path))
		if err != nil {
			return nil, err
		}
		if f.Size != obj.Size {
			f.Close()
			return nil, apierr.New(apierr.FailedPrecondition, "%s changed size since it was listed (%d, now %d bytes)", loc.URI(obj.Path), obj.Size, f.Size)
		}
		f.Name = loc.URI(obj.Path)
		return f, nil
	case discovery.SchemeS3:
		if client == nil {
			return nil, apierr.New(apierr.FailedPrecondition, "no S3 client is configured for %s", loc)
		}
		r := NewS3ReaderAt(ctx, client, loc.Bucket, loc.Key(obj.Path), obj.Size, obj.ETag)
		return &File{ReaderAt: r, Size: obj.Size, Name: loc.URI(obj.Path)}, nil
	}
	return nil, apierr.New(apierr.InvalidArgument, "unsupported location %s", fmt.Sprint(loc))
}
