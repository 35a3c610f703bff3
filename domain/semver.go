package domain

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// SemVer is a parsed Semantic Versioning 2.0.0 version.
type SemVer struct {
	Major, Minor, Patch uint64
	Prerelease          []string // dot-separated identifiers, nil when absent
	Build               []string // build metadata, ignored for precedence
}

// ParseSemVer parses s strictly by the SemVer 2.0.0 grammar (no "v" prefix,
// no leading zeros in numeric identifiers, no empty identifiers).
func ParseSemVer(s string) (SemVer, error) {
	bad := func(why string) (SemVer, error) {
		return SemVer{}, Invalid("version", "version %q is not a valid semantic version: %s", s, why)
	}
	if len(s) == 0 || len(s) > 128 {
		return bad("length must be 1-128")
	}
	rest := s
	var v SemVer
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		build := rest[i+1:]
		rest = rest[:i]
		v.Build = strings.Split(build, ".")
		for _, id := range v.Build {
			if id == "" || !isAlnumHyphen(id) {
				return bad("bad build metadata")
			}
		}
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre := rest[i+1:]
		rest = rest[:i]
		v.Prerelease = strings.Split(pre, ".")
		for _, id := range v.Prerelease {
			if id == "" || !isAlnumHyphen(id) {
				return bad("bad pre-release identifier")
			}
			if isDigits(id) && len(id) > 1 && id[0] == '0' {
				return bad("numeric pre-release identifier with a leading zero")
			}
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return bad("want MAJOR.MINOR.PATCH")
	}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if p == "" || !isDigits(p) || (len(p) > 1 && p[0] == '0') {
			return bad("MAJOR, MINOR and PATCH must be non-negative integers without leading zeros")
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return bad("number too large")
		}
		*nums[i] = n
	}
	return v, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnumHyphen(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// String renders v canonically.
func (v SemVer) String() string {
	s := strconv.FormatUint(v.Major, 10) + "." + strconv.FormatUint(v.Minor, 10) + "." + strconv.FormatUint(v.Patch, 10)
	if len(v.Prerelease) > 0 {
		s += "-" + strings.Join(v.Prerelease, ".")
	}
	if len(v.Build) > 0 {
		s += "+" + strings.Join(v.Build, ".")
	}
	return s
}

// Compare returns -1, 0 or +1 by SemVer precedence (build metadata ignored).
func (v SemVer) Compare(o SemVer) int {
	for _, p := range [][2]uint64{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.Prerelease) == 0 && len(o.Prerelease) == 0:
		return 0
	case len(v.Prerelease) == 0:
		return 1
	case len(o.Prerelease) == 0:
		return -1
	}
	for i := 0; i < len(v.Prerelease) && i < len(o.Prerelease); i++ {
		if c := compareIdent(v.Prerelease[i], o.Prerelease[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(v.Prerelease) < len(o.Prerelease):
		return -1
	case len(v.Prerelease) > len(o.Prerelease):
		return 1
	}
	return 0
}

func compareIdent(a, b string) int {
	an, bn := isDigits(a), isDigits(b)
	switch {
	case an && bn:
		if len(a) != len(b) { // no leading zeros: longer is larger
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1 // numeric identifiers have lower precedence
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// PrecedenceKey encodes v so that comparing keys bytewise orders versions by
// SemVer precedence, and equal keys mean equal precedence (build metadata is
// left out). The database stores it to enforce uniqueness and to sort.
func (v SemVer) PrecedenceKey() []byte {
	key := make([]byte, 0, 32)
	for _, n := range []uint64{v.Major, v.Minor, v.Patch} {
		key = binary.BigEndian.AppendUint64(key, n)
	}
	if len(v.Prerelease) == 0 {
		return append(key, 0xFF) // a release sorts after all of its pre-releases
	}
	for _, id := range v.Prerelease {
		if isDigits(id) {
			// 0x01, then the length, then the digits: longer numbers are larger.
			key = append(key, 0x01, byte(len(id)))
			key = append(key, id...)
		} else {
			// 0x02 > 0x01: alphanumeric identifiers sort after numeric ones;
			// 0x00 terminates (identifier bytes are all > 0x00), so a prefix
			// sorts first.
			key = append(key, 0x02)
			key = append(key, id...)
			key = append(key, 0x00)
		}
	}
	// 0x00 ends the list: fewer identifiers sort first when all shared ones
	// are equal (every identifier starts with 0x01 or 0x02).
	return append(key, 0x00)
}
