package read

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// thriftCheck walks a Thrift compact protocol struct without decoding it.
// It rejects what would make parquet-go's decoder allocate memory the
// input does not hold (a list, set, map or binary claiming more elements
// than there are bytes left: every element takes at least one) or recurse
// without bound (nesting past thriftDepth).
type thriftCheck struct {
	b   []byte
	off int
}

// thriftDepth bounds nesting; a Parquet footer nests less than 10 deep.
const thriftDepth = 64

var errThrift = errors.New("malformed Thrift")

func (c *thriftCheck) next() (byte, error) {
	if c.off >= len(c.b) {
		return 0, errThrift
	}
	c.off++
	return c.b[c.off-1], nil
}

func (c *thriftCheck) skip(n uint64) error {
	if n > uint64(len(c.b)-c.off) {
		return fmt.Errorf("%w: %d bytes claimed, %d left", errThrift, n, len(c.b)-c.off)
	}
	c.off += int(n)
	return nil
}

func (c *thriftCheck) uvarint() (uint64, error) {
	v, n := binary.Uvarint(c.b[c.off:])
	if n <= 0 {
		return 0, errThrift
	}
	c.off += n
	return v, nil
}

// count checks that n container elements of at least per bytes each fit
// in the bytes left, and returns n.
func (c *thriftCheck) count(n uint64, per uint64) (uint64, error) {
	if left := uint64(len(c.b) - c.off); n > left/per {
		return 0, fmt.Errorf("%w: %d elements claimed, %d bytes left", errThrift, n, left)
	}
	return n, nil
}

func (c *thriftCheck) structure(depth int) error {
	if depth > thriftDepth {
		return fmt.Errorf("%w: nested more than %d deep", errThrift, thriftDepth)
	}
	for {
		b, err := c.next()
		if err != nil {
			return err
		}
		t := b & 0x0f
		if t == 0 {
			return nil // STOP
		}
		if b>>4 == 0 { // a field id follows, as a zigzag varint
			if _, err := c.uvarint(); err != nil {
				return err
			}
		}
		if t == 1 || t == 2 {
			continue // a bool field's value is its type
		}
		if err := c.value(t, depth+1); err != nil {
			return err
		}
	}
}

// value walks one value of type t (as a container element: bools take a
// byte).
func (c *thriftCheck) value(t byte, depth int) error {
	switch t {
	case 1, 2, 3: // bool, i8
		return c.skip(1)
	case 4, 5, 6: // i16, i32, i64
		_, err := c.uvarint()
		return err
	case 7: // double
		return c.skip(8)
	case 8: // binary
		n, err := c.uvarint()
		if err != nil {
			return err
		}
		return c.skip(n)
	case 9, 10: // list, set
		h, err := c.next()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = c.uvarint(); err != nil {
				return err
			}
		}
		if n, err = c.count(n, 1); err != nil {
			return err
		}
		return c.elements(n, h&0x0f, 0, depth)
	case 11: // map
		n, err := c.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := c.next()
		if err != nil {
			return err
		}
		if n, err = c.count(n, 2); err != nil {
			return err
		}
		return c.elements(n, kv>>4, kv&0x0f, depth)
	case 12: // struct
		return c.structure(depth)
	case 13: // uuid
		return c.skip(16)
	}
	return fmt.Errorf("%w: unknown type %d", errThrift, t)
}

// elements walks n container elements of type t, or n map entries of key
// type t and value type v.
func (c *thriftCheck) elements(n uint64, t, v byte, depth int) error {
	if depth > thriftDepth {
		return fmt.Errorf("%w: nested more than %d deep", errThrift, thriftDepth)
	}
	for range n {
		if err := c.value(t, depth+1); err != nil {
			return err
		}
		if v != 0 {
			if err := c.value(v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
