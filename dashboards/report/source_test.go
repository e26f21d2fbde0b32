package report

import (
	"testing"

	"github.com/faultline/faultline/queries"
)

// fixtureTopology is the service topology of the fixture outage.
var fixtureTopology = map[string][]string{
	"frontend": {"checkout"},
	"checkout": {"orders"},
	"orders":   {"dynamodb", "ec2"},
}

// newSource returns the real correlation engine over the fixture.
func newSource(t testing.TB, f *fixtureDB) *queries.Engine {
	t.Helper()
	return queries.NewEngine(f.sqlDB(), queries.DefaultCorrelationConfig(), fixtureTopology)
}
