package queries

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// What a change did, read from the attributes each source keeps: a
// CloudTrail request (nested, with EC2's items wrappers), a Config item
// diff (before and after), a deploy's versions, an Azure request body held
// as JSON text, and a change whose attributes say nothing.
func TestChangeDetails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ch := func(id, source, attrs string) transform.Event {
		return transform.Event{EventID: id, Time: at("09:00"), Source: source, Kind: "change", Service: "svc", Attributes: attrs}
	}
	testkit.Seed(t, f.db,
		ch("ct", "cloudtrail", `{"eventVersion":"1.10","requestParameters":{"healthCheckPath":"/ready","healthCheckIntervalSeconds":10,"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef"},"responseElements":{"x":1}}`),
		ch("sg", "cloudtrail", `{"requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"fromPort":8443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/16"}]}}]}}}`),
		ch("cfg", "config", `{"version":"1.0","invokingEvent":{"configurationItemDiff":{"changedProperties":{"Configuration.InstanceType":{"previousValue":"t2.micro","updatedValue":"t2.medium","changeType":"UPDATE"},"Configuration.StateReason":{"previousValue":null,"updatedValue":{"code":"x"},"changeType":"CREATE"}},"changeType":"UPDATE"}}}`),
		ch("eb", "config", `{"detail":{"configurationItemDiff":{"changedProperties":{"Configuration.IpPermissions.0":{"previousValue":{"p":"tcp"},"changeType":"DELETE"}}}}}`),
		ch("dep", "deploy", `{"version":"1.5.8","previous_version":"1.5.7","env":"prod"}`),
		ch("az", "azure", `{"properties":{"requestbody":"{\"properties\":{\"sku\":\"Standard\"}}"}}`),
		ch("none", "cloudtrail", `{"requestParameters":null}`),
		ch("late", "cloudtrail", `{"requestParameters":{"a":1}}`),
	)
	// "late" is outside the window: not read.
	testkit.Seed(t, f.db, transform.Event{EventID: "late", Time: at("11:00"), Source: "cloudtrail", Kind: "change", Attributes: `{"requestParameters":{"a":2}}`})
	got, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).ChangeDetails(ctx, Window{Since: at("08:00"), Until: at("10:00")}, []string{"ct", "sg", "cfg", "eb", "dep", "az", "none", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ChangeDetail{
		"ct": {EventID: "ct", Kind: "request", Fields: []ChangedField{
			{Name: "healthCheckIntervalSeconds", After: "10"}, {Name: "healthCheckPath", After: "/ready"},
			{Name: "targetGroupArn", After: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef"}}},
		"sg": {EventID: "sg", Kind: "request", Fields: []ChangedField{
			{Name: "groupId", After: "sg-1"}, {Name: "ipPermissions.fromPort", After: "8443"}, {Name: "ipPermissions.ipRanges.cidrIp", After: "10.0.0.0/16"}}},
		"cfg": {EventID: "cfg", Kind: "config", Fields: []ChangedField{
			{Name: "Configuration.InstanceType", Before: "t2.micro", After: "t2.medium"},
			{Name: "Configuration.StateReason", After: `{"code":"x"}`}}},
		"eb":   {EventID: "eb", Kind: "config", Fields: []ChangedField{{Name: "Configuration.IpPermissions.0", Before: `{"p":"tcp"}`, After: "(deleted)"}}},
		"dep":  {EventID: "dep", Kind: "deploy", Fields: []ChangedField{{Name: "version", Before: "1.5.7", After: "1.5.8"}}},
		"az":   {EventID: "az", Kind: "request", Fields: []ChangedField{{Name: "properties.sku", After: "Standard"}}},
		"none": {EventID: "none", Kind: "", Fields: []ChangedField{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("change details:\n got %+v\nwant %+v", got, want)
	}
	if d, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).ChangeDetails(ctx, Window{}, nil); err != nil || len(d) != 0 {
		t.Errorf("no ids: %v %v", d, err)
	}
}

func TestChangeDetailFieldCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxChangedFields + 5 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1`)
	}
	b.WriteString("}")
	d := changeDetail("x", "cloudtrail", b.String(), "", "", "")
	if len(d.Fields) != MaxChangedFields || d.More != 5 {
		t.Errorf("%d fields, %d more; want %d and 5", len(d.Fields), d.More, MaxChangedFields)
	}
	long := changeDetail("x", "cloudtrail", `{"policy":"`+strings.Repeat("p", 1000)+`"}`, "", "", "")
	if n := len([]rune(long.Fields[0].After)); n != maxValueRunes {
		t.Errorf("a long value is %d runes, want it cut to %d", n, maxValueRunes)
	}
}

// Error groups: by code, else by message with digits folded; the largest
// per service; a sample that is the shortest message; services with the
// most errors first; only the named services and the window.
func TestErrorGroups(t *testing.T) {
	f := newFixture(t)
	e := func(id, svc, code, msg string, m int) transform.Event {
		return transform.Event{EventID: id, Time: at("10:00").Add(time.Duration(m) * time.Minute), Source: "app", Kind: "error", Service: svc, ErrorCode: code, Message: msg}
	}
	testkit.Seed(t, f.db,
		e("c1", "cart", "ServiceUnavailable", "503: no healthy targets behind the load balancer", 0),
		e("c2", "cart", "ServiceUnavailable", "503: no healthy targets", 1),
		e("c3", "cart", "ServiceUnavailable", "503: no healthy targets behind it", 2),
		e("c4", "cart", "", "timeout after 30s on 10.0.0.1", 3),
		e("c5", "cart", "", "timeout after 31s on 10.0.0.2", 4),
		e("c6", "cart", "Rare", "once", 5),
		e("p1", "partner", "Upstream", "upstream cart returned 503", 1),
		e("x1", "search", "Other", "not asked for", 1),
		e("late", "cart", "ServiceUnavailable", "after the window", 90),
	)
	got, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).ErrorGroups(context.Background(), Window{Since: at("10:00"), Until: at("11:00")}, []string{"cart", "partner"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		svc, code, sample, id string
		n, total              int64
	}
	var rows []row
	for _, g := range got {
		rows = append(rows, row{g.Service, g.ErrorCode, g.Sample, g.SampleEventID, g.Errors, g.ServiceErrors})
	}
	want := []row{
		{"cart", "ServiceUnavailable", "503: no healthy targets", "c2", 3, 6},
		{"cart", "", "timeout after 30s on 10.0.0.1", "c4", 2, 6},
		{"partner", "Upstream", "upstream cart returned 503", "p1", 1, 1},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("error groups:\n got %+v\nwant %+v", rows, want)
	}
	if !got[0].FirstSeen.Equal(at("10:00")) || !got[0].LastSeen.Equal(at("10:02")) {
		t.Errorf("first/last seen %s %s", got[0].FirstSeen, got[0].LastSeen)
	}
}

// The raw event by id within a window, and the console SQL that finds the
// same rows through the analyst sandbox.
func TestEventsAndTheirSQL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	when := at("09:56:12").Add(345 * time.Millisecond)
	testkit.Seed(t, f.db, transform.Event{EventID: "it's", Time: when, Source: "cloudtrail", Kind: "change", Service: "elasticloadbalancing",
		Operation: "ModifyTargetGroup", Resource: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef", Actor: "dmitri",
		Attributes: `{"requestParameters":{"healthCheckPath":"/ready"}}`, Lineage: transform.Lineage{Topic: "cloudtrail", Partition: 2, Offset: 41}})
	evs, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).Events(ctx, Window{Since: when.Add(-time.Second), Until: when.Add(time.Second)}, "it's")
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %v %+v", err, evs)
	}
	ev := evs[0]
	if ev.Operation != "ModifyTargetGroup" || ev.Actor != "dmitri" || !ev.Time.Equal(when) || ev.SrcTopic != "cloudtrail" || ev.SrcOffset != 41 ||
		!strings.Contains(ev.Attributes, `"healthCheckPath"`) {
		t.Errorf("event %+v", ev)
	}
	if evs, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).Events(ctx, Window{Since: at("10:00")}, "it's"); err != nil || len(evs) != 0 {
		t.Errorf("outside the window: %v %+v", err, evs)
	}

	sb, err := NewSandbox(ctx, f.db.DB, Config{Timeout: 10 * time.Second, MaxRows: 10, MaxBytes: 1 << 20, ExportMaxRows: 10, ExportMaxBytes: 1 << 20, MaxConcurrent: 1, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	var c Collect
	sum, err := sb.Stream(ctx, EventSQL("it's", when), &c)
	if err != nil || sum.Rows != 1 {
		t.Fatalf("EventSQL through the sandbox: %v, %d rows\n%s", err, sum.Rows, EventSQL("it's", when))
	}
	testkit.Seed(t, f.db, transform.Event{EventID: "e1", Time: at("10:01"), Source: "app", Kind: "error", Service: "cart", ErrorCode: "X", Message: "m"},
		transform.Event{EventID: "e2", Time: at("10:02"), Source: "app", Kind: "error", Service: "o'hara", ErrorCode: "Y", Message: "m"})
	var c2 Collect
	q := ErrorsSQL([]string{"cart", "o'hara"}, Window{Since: at("10:00"), Until: at("10:02")})
	if sum, err := sb.Stream(ctx, q, &c2); err != nil || sum.Rows != 1 {
		t.Fatalf("ErrorsSQL through the sandbox: %v, %d rows\n%s", err, sum.Rows, q)
	}
}
