package dataset

import (
	"fmt"
	"slices"
	"strings"
)

// A dataset's table outlives the definition it was made for: the manifest
// changes, the table keeps its rows. Compare says what the table must do
// to hold records of the new definition, and refuses what would lose or
// misread data.
//
// The rules, which the store's DDL relies on:
//
//   - A field is matched by name. An added field becomes a new column,
//     always nullable: the rows already there have no value for it.
//   - A removed field is allowed and nothing is dropped: its column stays,
//     with the values it had, and new rows leave it NULL. That is why the
//     store creates every non-key column nullable: `required` is enforced
//     by the rules when a record is read, never by NOT NULL, or a removed
//     required field would refuse every later insert.
//   - A field's type never changes (integer -> decimal included): the
//     column would have to be rewritten, and the old values re-read under
//     rules they were not checked by.
//   - A decimal may widen: as many or more digits before the point and as
//     many or more after it. Narrowing either could lose digits.
//   - The key never changes: a table is keyed once.
//   - Rule changes (max_length, one_of, pattern, min, max, required on an
//     existing field) need no DDL: the rules apply to the records loaded
//     from then on, and rows already stored are not checked again.
//   - A new field that is required cannot be met by the rows already in
//     the table; Compare cannot know whether there are any, so it lists
//     such fields in NewRequired and the store refuses them on a
//     non-empty table.

// Change is what a table made for one definition must do to hold records
// of another (see Compare).
type Change struct {
	// Added are the new definition's fields that the old one does not
	// have, in declaration order: each becomes a nullable column.
	Added []Field `json:"added,omitempty"`
	// Widened are decimal fields (as the new definition declares them)
	// whose precision or scale grew: a NUMERIC column's type must widen;
	// a TEXT one needs nothing.
	Widened []Field `json:"widened,omitempty"`
	// Removed are the old definition's fields that the new one no longer
	// declares: their columns stay, and new rows leave them NULL.
	Removed []Field `json:"removed,omitempty"`
	// NewRequired are the Added fields that are required: allowed only on
	// a table with no row.
	NewRequired []Field `json:"new_required,omitempty"`
	// RulesChanged says that a field kept its column but its rules
	// changed (max_length, one_of, pattern, min, max, required, or a
	// decimal's size): the next records are checked by the new rules,
	// with no DDL.
	RulesChanged bool `json:"rules_changed,omitempty"`
}

// None reports whether the table needs no DDL and no rule changed: the
// definitions are equivalent for storage and for the rules.
func (c Change) None() bool {
	return len(c.Added) == 0 && len(c.Widened) == 0 && len(c.Removed) == 0 && !c.RulesChanged
}

// NeedsDDL reports whether the table itself changes (a column is added, or
// a decimal widened), as opposed to only the catalog's record of it.
func (c Change) NeedsDDL() bool { return len(c.Added) > 0 || len(c.Widened) > 0 }

// ChangeError is a change of definition that the table cannot follow: it
// names the column (or the key) and the old and new types, and why.
type ChangeError struct {
	// Dataset names the dataset; Column the field's column, "" for a
	// change of key.
	Dataset string
	Column  string
	// Old and New are the types ("decimal(12,2)", "integer") or, for a
	// key, the key's fields ("(id)").
	Old, New string
	// Reason says why the change is refused.
	Reason string
}

func (e *ChangeError) Error() string {
	what := "key"
	if e.Column != "" {
		what = fmt.Sprintf("column %q", e.Column)
	}
	return fmt.Sprintf("%s: %s -> %s: %s", what, e.Old, e.New, e.Reason)
}

// Reasons of a ChangeError.
const (
	ReasonChangedType   = "a changed type would lose data"
	ReasonNarrower      = "a narrower decimal would lose data"
	ReasonChangedKey    = "a changed key needs a new dataset (a table is keyed once)"
	ReasonChangedColumn = "a field moved to another column would lose its data"
	ReasonNewRequired   = "the table has rows, which have no value for a new required field: add it as optional, fill it, then make it required"
)

// ColumnName is the column a field is stored in: Column, or Name.
func (f Field) ColumnName() string {
	if f.Column != "" {
		return f.Column
	}
	return f.Name
}

// TypeName spells a field's type as messages show it: the type, and a
// decimal's size ("decimal(12,2)").
func (f Field) TypeName() string {
	if f.Type == Decimal {
		return fmt.Sprintf("decimal(%d,%d)", f.Precision, f.Scale)
	}
	return string(f.Type)
}

// Compare says what a table made for old must do to hold records of new,
// or refuses, with a *ChangeError, a change that would lose or misread
// data (see the rules above). Both definitions are of the same dataset;
// Compare does not check them otherwise (Validate does).
func Compare(old, new Definition) (Change, error) {
	var c Change
	if !slices.Equal(old.Key, new.Key) {
		return Change{}, &ChangeError{Dataset: new.Name, Old: keyName(old.Key), New: keyName(new.Key), Reason: ReasonChangedKey}
	}
	olds := make(map[string]Field, len(old.Fields))
	for _, f := range old.Fields {
		olds[f.Name] = f
	}
	seen := make(map[string]bool, len(new.Fields))
	for _, nf := range new.Fields {
		seen[nf.Name] = true
		of, ok := olds[nf.Name]
		if !ok {
			c.Added = append(c.Added, nf)
			if nf.Required {
				c.NewRequired = append(c.NewRequired, nf)
			}
			continue
		}
		widened, err := compareField(new.Name, of, nf)
		if err != nil {
			return Change{}, err
		}
		if widened {
			c.Widened = append(c.Widened, nf)
		}
		if !sameRules(of, nf) {
			c.RulesChanged = true
		}
	}
	for _, of := range old.Fields {
		if !seen[of.Name] {
			c.Removed = append(c.Removed, of)
		}
	}
	return c, nil
}

// compareField checks that a kept field's column can hold the new
// field's values, and says whether a decimal widened.
func compareField(dataset string, of, nf Field) (widened bool, err error) {
	refuse := func(reason string) error {
		return &ChangeError{Dataset: dataset, Column: nf.ColumnName(), Old: of.TypeName(), New: nf.TypeName(), Reason: reason}
	}
	switch {
	case of.ColumnName() != nf.ColumnName():
		return false, &ChangeError{Dataset: dataset, Column: nf.Name, Old: "column " + of.ColumnName(), New: "column " + nf.ColumnName(), Reason: ReasonChangedColumn}
	case of.Type != nf.Type:
		return false, refuse(ReasonChangedType)
	case nf.Type != Decimal:
		return false, nil
	case nf.Scale < of.Scale || nf.Precision-nf.Scale < of.Precision-of.Scale:
		// Fewer digits after the point, or fewer before it (precision
		// grew by less than scale did).
		return false, refuse(ReasonNarrower)
	}
	return nf.Precision != of.Precision || nf.Scale != of.Scale, nil
}

// sameRules reports whether two fields of the same name, type and column
// check values alike.
func sameRules(a, b Field) bool {
	return a.Required == b.Required && a.MaxLength == b.MaxLength &&
		a.Precision == b.Precision && a.Scale == b.Scale &&
		a.Min == b.Min && a.Max == b.Max && a.Pattern == b.Pattern &&
		slices.Equal(a.OneOf, b.OneOf)
}

func keyName(key []string) string { return "(" + strings.Join(key, ", ") + ")" }
