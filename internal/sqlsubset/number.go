package sqlsubset

// IsDecimalNumber reports whether s is [+-]digits[.digits][(e|E)[+-]digits]
// with at least one digit (also .5 and 5.): the number syntax of partition
// values and text files, and nothing beyond it that strconv would take
// (hex, underscores, inf and nan words). The control plane and agents
// share it so that both read a value the same way.
func IsDecimalNumber[S ~string | ~[]byte](s S) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
