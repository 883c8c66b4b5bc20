//go:build !linux

package s3test

// userXattrs: off Linux, run versitygw with --nometa.
func userXattrs(string) bool { return false }
