package awsiid

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// document is the part of an instance identity document the attestor
// reads. AWS adds members over time (architecture, billingProducts,
// version, ...); unknown members are ignored, since the document is
// AWS-signed and not the agent's to extend.
type document struct {
	AccountID        string    `json:"accountId"`
	Region           string    `json:"region"`
	InstanceID       string    `json:"instanceId"`
	PendingTime      time.Time `json:"-"`
	ImageID          string    `json:"imageId"`
	InstanceType     string    `json:"instanceType"`
	AvailabilityZone string    `json:"availabilityZone"`
	// PrivateIP is empty on IPv6-only instances.
	PrivateIP string `json:"privateIp"`
}

// parseDocument decodes and checks a (signature-verified) document. Its
// errors name fields, never quote the document.
func parseDocument(b []byte) (document, error) {
	var raw struct {
		document
		PendingTime *string `json:"pendingTime"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return document{}, fmt.Errorf("%s is not a %s", te.Field, te.Type)
		}
		return document{}, errors.New("not a JSON object")
	}
	d := raw.document
	for _, f := range []struct{ name, v string }{
		{"accountId", d.AccountID}, {"region", d.Region}, {"instanceId", d.InstanceID},
		{"imageId", d.ImageID}, {"instanceType", d.InstanceType}, {"availabilityZone", d.AvailabilityZone},
	} {
		if f.v == "" {
			return document{}, fmt.Errorf("%s is missing", f.name)
		}
	}
	if raw.PendingTime == nil || *raw.PendingTime == "" {
		return document{}, errors.New("pendingTime is missing")
	}
	if !accountRE.MatchString(d.AccountID) {
		return document{}, errors.New("accountId is not 12 digits")
	}
	if !regionRE.MatchString(d.Region) {
		return document{}, errors.New("region is not an AWS region name")
	}
	if !instanceRE.MatchString(d.InstanceID) {
		return document{}, errors.New("instanceId is not i- and 8 to 17 hex digits")
	}
	t, err := time.Parse(time.RFC3339, *raw.PendingTime)
	if err != nil {
		return document{}, errors.New("pendingTime is not an RFC 3339 time")
	}
	d.PendingTime = t
	if d.PrivateIP != "" {
		if _, err := netip.ParseAddr(d.PrivateIP); err != nil {
			return document{}, errors.New("privateIp is not an IP address")
		}
	}
	return d, nil
}
