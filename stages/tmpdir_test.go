package stages

import (
	"testing"

	"github.com/seqae/seqae/internal/testtmp"
)

// TestMain puts the tests' scratch folders in memory where it can
// (testtmp.Main).
func TestMain(m *testing.M) {
	testtmp.Main(m)
}
