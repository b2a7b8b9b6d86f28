package jobs

import (
	"strings"

	"github.com/seqae/seqae/storage"
)

// badLocation returns the first of the job's locations (inputs,
// model.path, output.dir) that is a malformed location URL, with its key.
// Plain paths are not checked here.
func (c *Config) badLocation() (string, error) {
	check := []struct{ key, loc string }{{"model.path", c.Model.Path}, {"output.dir", c.Output.Dir}}
	for _, in := range c.Inputs {
		check = append(check, struct{ key, loc string }{"inputs", in})
	}
	for _, l := range check {
		if !storage.IsURL(l.loc) {
			continue
		}
		if _, err := storage.ParseLocation(strings.ReplaceAll(l.loc, "{date}", "2006-01-02")); err != nil {
			return l.key, err
		}
	}
	return "", nil
}
