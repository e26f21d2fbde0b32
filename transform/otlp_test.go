package transform

import (
	"strings"
	"testing"
	"time"
)

const otlpExport = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"cloud.region","value":{"stringValue":"us-east-1"}},{"key":"deployment.environment","value":{"stringValue":"prod"}}]},"scopeLogs":[{"scope":{"name":"checkout.db","version":"2.0"},"logRecords":[
{"timeUnixNano":"1760944323120000000","observedTimeUnixNano":"1760944323200000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"GetItem timed out"},"attributes":[{"key":"error.type","value":{"stringValue":"DynamoDBTimeout"}},{"key":"server.address","value":{"stringValue":"dynamodb.us-east-1.amazonaws.com"}},{"key":"retries","value":{"intValue":"3"}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"boolValue":true}]}}},{"key":"ctx","value":{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":1.5}}]}}}],"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","flags":1},
{"observedTimeUnixNano":"1760944324000000000","severityNumber":9,"body":{"kvlistValue":{"values":[{"key":"event","value":{"stringValue":"started"}}]}},"attributes":[{"key":"service.name","value":{"stringValue":"checkout-worker"}}]},
"garbage"
]}]}]}`

func TestOTLP(t *testing.T) {
	d := newTestDecoder(t, nil)
	for _, f := range []Format{FormatOTLP, FormatAuto} {
		r := decode(t, d, f, []byte(otlpExport))
		if len(r.Events) != 2 || len(r.DeadLetters) != 1 {
			t.Fatalf("%s: %d events %d dead", f, len(r.Events), len(r.DeadLetters))
		}
		e := r.Events[0]
		if e.Source != SourceOTLP || e.Kind != KindError || e.Service != "checkout" || e.Region != "us-east-1" || e.ErrorCode != "DynamoDBTimeout" ||
			e.PeerService != "dynamodb" || e.Message != "GetItem timed out" || e.TraceID != "5b8efff798038103d269b633813fc60c" ||
			!e.Time.Equal(time.Unix(0, 1760944323120000000)) || e.SeverityNumber != 17 {
			t.Fatalf("record 0: %+v", e)
		}
		for _, want := range []string{`"retries":3`, `"tags":["a",true]`, `"ctx":{"k":1.5}`, `"span_id":"eee19b7ec3c1b174"`, `"deployment.environment":"prod"`, `"otel.scope.name":"checkout.db"`} {
			if !strings.Contains(e.Attributes, want) {
				t.Errorf("attributes lack %s: %s", want, e.Attributes)
			}
		}
		e = r.Events[1]
		if e.Service != "checkout-worker" || e.Kind != KindInfo || !e.Time.Equal(time.Unix(0, 1760944324000000000)) || !strings.Contains(e.Attributes, `"body":{"event":"started"}`) {
			t.Fatalf("record 1: %+v", e)
		}
	}
	r := decode(t, d, FormatOTLP, []byte(`{"resourceLogs":{}}`))
	if len(r.DeadLetters) != 1 || r.DeadLetters[0].Reason != ReasonMissingField {
		t.Fatalf("%+v", r)
	}
}
