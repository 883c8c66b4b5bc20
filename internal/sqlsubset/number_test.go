package sqlsubset

import "testing"

func TestIsDecimalNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"1": true, "-1": true, "+1.5": true, ".5": true, "5.": true, "1e3": true, "1.5E-7": true,
		"": false, ".": false, "-": false, "1e": false, "0x10": false, "1_000": false, "inf": false, "NaN": false, "1.2.3": false, " 1": false,
	} {
		if IsDecimalNumber(s) != want || IsDecimalNumber([]byte(s)) != want {
			t.Errorf("IsDecimalNumber(%q) = %v, want %v", s, !want, want)
		}
	}
}
