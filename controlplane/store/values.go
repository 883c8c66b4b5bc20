package store

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nscale/nscale/internal/apierr"
)

// maxNameLen is the longest name (in characters) of any catalog object,
// principal or attribute key: VARCHAR(255) on PostgreSQL and MySQL.
const maxNameLen = 255

// maxTextLen bounds free text (comments, locations, JSON documents) so that
// every dialect stores it (TEXT on MySQL holds 64 KiB).
const maxTextLen = 60 << 10

// newID returns a time-ordered UUID (version 7) string.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// now is the current time as stored: UTC, microsecond precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// checkName validates the name of an entity: not empty, at most 255
// characters of valid UTF-8, no control characters, no surrounding spaces.
func checkName(entity, name string) error {
	switch {
	case name == "":
		return apierr.New(apierr.InvalidArgument, "%s name is empty", entity)
	case !utf8.ValidString(name):
		return apierr.New(apierr.InvalidArgument, "%s name is not valid UTF-8", entity)
	case utf8.RuneCountInString(name) > maxNameLen:
		return apierr.New(apierr.InvalidArgument, "%s name is longer than %d characters", entity, maxNameLen)
	case strings.TrimSpace(name) != name:
		return apierr.New(apierr.InvalidArgument, "%s name %q has leading or trailing spaces", entity, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return apierr.New(apierr.InvalidArgument, "%s name %q contains a control character", entity, name)
	}
	return nil
}

// checkText validates free text: valid UTF-8, no NUL (PostgreSQL refuses
// it), at most maxTextLen bytes.
func checkText(field, s string) error { return checkTextN(field, s, maxTextLen) }

// checkTextN is checkText with a size limit of max bytes.
func checkTextN(field, s string, max int) error {
	switch {
	case !utf8.ValidString(s):
		return apierr.New(apierr.InvalidArgument, "%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return apierr.New(apierr.InvalidArgument, "%s contains a NUL character", field)
	case len(s) > max:
		return apierr.New(apierr.InvalidArgument, "%s is longer than %d bytes", field, max)
	}
	return nil
}

// encodeMap stores a string map as a JSON object.
func encodeMap(field string, m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	for k, v := range m {
		if err := checkText(field+" key", k); err != nil {
			return "", err
		}
		if err := checkText(field+" value", v); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", apierr.Wrap(apierr.InvalidArgument, err, "%s cannot be encoded", field)
	}
	if len(b) > maxTextLen {
		return "", apierr.New(apierr.InvalidArgument, "%s is longer than %d bytes", field, maxTextLen)
	}
	return string(b), nil
}

// decodeMap reads a JSON object written by encodeMap; empty means nil.
func decodeMap(field, s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "store: stored %s is not a JSON object of strings", field)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
