package status

import (
	"errors"
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cands []string
		want  string
	}{
		{"cloudtrial", []string{"app-errors", "cloudtrail", "cloudwatch"}, "cloudtrail"},
		{"KAFKA_BROKRS", []string{"KAFKA_BROKERS", "KAFKA_GROUP"}, "KAFKA_BROKERS"},
		{"exit-when-caughtup", []string{"exit-when-caught-up", "allow-data-loss"}, "exit-when-caught-up"},
		{"trail", []string{"app-errors", "cloudwatch"}, ""},
		{"db", []string{"dc", "xyz"}, "dc"},
		{"db", []string{"abc"}, ""},
		{"same", []string{"same"}, ""},
	} {
		if got := Closest(tc.name, tc.cands); got != tc.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", tc.name, tc.cands, got, tc.want)
		}
	}
}

func TestTrackerProblems(t *testing.T) {
	var tr Tracker
	if p := tr.Snapshot().Problems(); len(p) != 0 {
		t.Fatalf("not running: problems %v", p)
	}
	tr.Start([]string{"b1:9092"}, "g", func() []Partition {
		return []Partition{{Topic: "t", Partition: 1, Lag: 3}, {Topic: "t", Partition: 0, Lag: 4}}
	})
	if p := tr.Snapshot().Problems(); len(p) != 1 || !strings.Contains(p[0], "ingest is starting: no answer from Kafka at b1:9092 yet") {
		t.Fatalf("before the first answer: problems %v, want starting", p)
	}
	tr.Contact()
	s := tr.Snapshot()
	if !s.Connected || len(s.Problems()) != 0 || s.Lag != 7 || s.Partitions[0].Partition != 0 {
		t.Fatalf("started: %+v problems %v", s, s.Problems())
	}
	tr.KafkaError(errors.New("dial tcp: connection refused"))
	tr.SetMissingTopics([]MissingTopic{{Topic: "cloudtrial", Suggestion: "cloudtrail"}})
	tr.Commit(errors.New("disk full"))
	p := strings.Join(tr.Snapshot().Problems(), "\n")
	for _, want := range []string{"cannot reach Kafka at b1:9092", "connection refused", "cloudtrial (did you mean cloudtrail?) does not exist", "disk full"} {
		if !strings.Contains(p, want) {
			t.Errorf("problems %q lack %q", p, want)
		}
	}
	tr.Contact()
	tr.SetMissingTopics(nil)
	tr.Commit(nil)
	s = tr.Snapshot()
	if len(s.Problems()) != 0 || s.LastError == "" {
		t.Errorf("after recovery: problems %v, last error %q (kept for the record)", s.Problems(), s.LastError)
	}
	var nilT *Tracker
	nilT.KafkaError(errors.New("x"))
	if s := nilT.Snapshot(); s.Partitions == nil || s.MissingTopics == nil {
		t.Error("nil tracker snapshot has nil lists")
	}
}
