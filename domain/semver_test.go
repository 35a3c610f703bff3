package domain_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/schemata/schemata/domain"
)

func TestParseSemVerValid(t *testing.T) {
	for _, s := range []string{"0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
		"1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1", "1.0.0-alpha0.valid",
		"1.0.0-alpha.0valid", "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
		"2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "2.0.0+build.1848",
		"2.0.1-alpha.1227", "1.0.0-0A.is.legal", "18446744073709551615.0.0"} {
		v, err := domain.ParseSemVer(s)
		if err != nil {
			t.Errorf("ParseSemVer(%q): %v", s, err)
			continue
		}
		if v.String() != s {
			t.Errorf("String() = %q, want %q", v.String(), s)
		}
	}
}

func TestParseSemVerInvalid(t *testing.T) {
	for _, s := range []string{"", "1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid",
		"-invalid+invalid", "alpha", "1.0.0-alpha_beta", "01.1.1", "1.01.1", "1.1.01", "1.2.3.DEV", "1.2-SNAPSHOT",
		"1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "v1.2.3", "1.2.3-", "1.2.3+", "1.0.0-alpha..1", " 1.2.3",
		"18446744073709551616.0.0", "1.2.3-α"} {
		if _, err := domain.ParseSemVer(s); !domain.IsCode(err, domain.CodeInvalid) {
			t.Errorf("ParseSemVer(%q) accepted", s)
		}
	}
}

// The SemVer 2.0.0 specification's own precedence example, §11.
var specOrder = []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
	"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1-0", "1.0.1-1", "1.0.1-9", "1.0.1-10", "1.0.1-a", "1.0.1",
	"1.1.0", "1.10.0", "2.0.0", "10.0.0"}

func TestPrecedenceOrder(t *testing.T) {
	vs := make([]domain.SemVer, len(specOrder))
	for i, s := range specOrder {
		vs[i], _ = domain.ParseSemVer(s)
	}
	for i := range vs {
		for j := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", vs[i], vs[j], got, want)
			}
			if got := bytes.Compare(vs[i].PrecedenceKey(), vs[j].PrecedenceKey()); got != want {
				t.Errorf("key order (%s, %s) = %d, want %d", vs[i], vs[j], got, want)
			}
		}
	}
	shuffled := slices.Clone(vs)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortFunc(shuffled, func(a, b domain.SemVer) int { return bytes.Compare(a.PrecedenceKey(), b.PrecedenceKey()) })
	for i := range shuffled {
		if shuffled[i].String() != specOrder[i] {
			t.Fatalf("sorted by key: %v", shuffled)
		}
	}
}

func TestBuildMetadataIgnoredForPrecedence(t *testing.T) {
	a, _ := domain.ParseSemVer("1.0.0+a")
	b, _ := domain.ParseSemVer("1.0.0+b")
	if a.Compare(b) != 0 || !bytes.Equal(a.PrecedenceKey(), b.PrecedenceKey()) {
		t.Fatal("1.0.0+a and 1.0.0+b must have equal precedence")
	}
	c, _ := domain.ParseSemVer("1.0.0-rc.1+x")
	if bytes.Equal(a.PrecedenceKey(), c.PrecedenceKey()) {
		t.Fatal("a pre-release must differ from its release")
	}
}
