package jobs

import (
	"fmt"
	"time"
)

// DateLayout is the layout of a run's logical date.
const DateLayout = "2006-01-02"

// ParseDate reads a run's logical date, YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date YYYY-MM-DD, got %q", s)
	}
	return d, nil
}
