package write

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// orderedGroup is a Parquet group whose fields keep the order they are
// given in (parquet.Group sorts them by name), so output columns appear as
// docs/design.md lists them.
type orderedGroup []parquet.Field

type namedNode struct {
	parquet.Node
	name  string
	index int
}

func (n *namedNode) Name() string { return n.name }

func (n *namedNode) Value(base reflect.Value) reflect.Value { return base.Field(n.index) }

func newOrderedGroup(names []string, nodes []parquet.Node) orderedGroup {
	g := make(orderedGroup, len(names))
	for i := range names {
		g[i] = &namedNode{Node: nodes[i], name: names[i], index: i}
	}
	return g
}

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group(nil).Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) String() string {
	var b strings.Builder
	b.WriteString("group {")
	for _, f := range g {
		b.WriteString(" " + f.Name() + ": " + f.String() + ";")
	}
	b.WriteString(" }")
	return b.String()
}

// GoType is a struct of the fields' Go types (fields F0, F1, ...).
func (g orderedGroup) GoType() reflect.Type {
	fields := make([]reflect.StructField, len(g))
	for i, f := range g {
		fields[i] = reflect.StructField{Name: "F" + strconv.Itoa(i), Type: f.GoType()}
	}
	return reflect.StructOf(fields)
}
