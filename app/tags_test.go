package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/schemata/schemata/domain"
)

func TestTags(t *testing.T) {
	s := seed(t)
	w := s.w
	ctx := as(s.user)
	before := len(w.activityOf(s.c))
	for _, bad := range []string{"", "Upper", "two words", "a--b", strings.Repeat("t", 64)} {
		_, err := w.tags.Create(ctx, bad)
		wantField(t, err, "name") // the tag endpoint's field, not the component's "tags"
		_, err = w.tags.Update(ctx, s.tag.ID, bad)
		wantField(t, err, "name")
	}
	_, err := w.tags.Create(ctx, "pci") // created implicitly by a component
	wantCode(t, err, domain.CodeConflict)
	_, err = w.tags.Update(ctx, s.tag.ID, "pci")
	wantCode(t, err, domain.CodeConflict)
	_, err = w.tags.Update(ctx, 999_999, "free")
	wantCode(t, err, domain.CodeNotFound)
	if len(w.activityOf(s.c)) != before {
		t.Fatal("a refused tag change recorded activity")
	}

	tag, err := w.tags.Create(ctx, "lang:go+1#x")
	if err != nil || tag.Name != "lang:go+1#x" {
		t.Fatalf("create %+v %v", tag, err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "create" || a.EntityType != "tag" || a.EntityID != tag.ID {
		t.Fatalf("activity %+v", a)
	}
	// Renaming a tag renames it on every component that carries it.
	var pci int64
	for id, tg := range w.cat[s.c].tags {
		if tg.Name == "pci" {
			pci = id
		}
	}
	renamed, err := w.tags.Update(ctx, pci, "pci-dss")
	if err != nil || renamed.Name != "pci-dss" {
		t.Fatalf("rename %+v %v", renamed, err)
	}
	if a := w.lastActivity(t, s.c); a.Action != "update" || a.Detail["from"] != "pci" || a.Detail["name"] != "pci-dss" {
		t.Fatalf("activity %+v", a)
	}
	c, _ := w.components.Get(as(s.viewer), s.comp.ID)
	if !slices.Equal(c.Tags, []string{"pci-dss"}) {
		t.Fatalf("component tags %v", c.Tags)
	}
	if err := w.tags.Delete(ctx, pci); err != nil {
		t.Fatal(err)
	}
	c, _ = w.components.Get(as(s.viewer), s.comp.ID)
	if len(c.Tags) != 0 {
		t.Fatalf("deleted tag still on the component: %v", c.Tags)
	}
	wantCode(t, w.tags.Delete(ctx, pci), domain.CodeNotFound)
	_, err = w.tags.Get(ctx, pci)
	wantCode(t, err, domain.CodeNotFound)
	list, err := w.tags.List(as(s.viewer), domain.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("list %+v %v", list, err)
	}
	_, adminB := w.company(t, "Beta")
	_, err = w.tags.Get(as(adminB), tag.ID)
	wantCode(t, err, domain.CodeNotFound)
}
