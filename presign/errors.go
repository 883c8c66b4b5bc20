package presign

import "errors"

// Sentinel errors. Every error this package returns for bad input wraps
// ErrInvalidArgument and one of the more specific kinds below, so callers can
// classify with errors.Is while the message names the exact problem, e.g.
//
//	presign: bucket name "Ab" is invalid: must be 3-63 characters of lowercase letters, digits, dots and hyphens
var (
	// ErrInvalidArgument is wrapped by every input error (bucket, key, path,
	// TTL, region, endpoint, configuration).
	ErrInvalidArgument = errors.New("presign: invalid argument")

	ErrInvalidBucket   = errors.New("presign: invalid bucket name")
	ErrInvalidKey      = errors.New("presign: invalid object key or path")
	ErrInvalidTTL      = errors.New("presign: invalid TTL")
	ErrInvalidRegion   = errors.New("presign: invalid region")
	ErrInvalidEndpoint = errors.New("presign: invalid endpoint")
	ErrInvalidConfig   = errors.New("presign: invalid configuration")

	// ErrCredentials is wrapped when credentials cannot be retrieved, are
	// expired, or expire too soon to sign a URL that lives at least one
	// second. It is not an input error: the caller should retry later.
	ErrCredentials = errors.New("presign: credentials unavailable")
)

// kindError is an error whose message is complete on its own and which
// matches its kind (and, for input errors, ErrInvalidArgument) with errors.Is.
type kindError struct {
	kind  error
	input bool
	msg   string
	cause error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	errs := []error{e.kind}
	if e.input {
		errs = append(errs, ErrInvalidArgument)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// inputError returns an input error of the given kind; msg is the full
// message and should start with "presign: ".
func inputError(kind error, msg string) error {
	return &kindError{kind: kind, input: true, msg: msg}
}

// credError returns an ErrCredentials error with msg, wrapping cause.
func credError(msg string, cause error) error {
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &kindError{kind: ErrCredentials, msg: msg, cause: cause}
}
