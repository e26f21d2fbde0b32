package transform

import (
	"strings"
	"testing"
	"time"
)

func TestAWSEventSamples(t *testing.T) {
	tests := []struct {
		file                              string
		source, kind, service, op, status string
		time                              time.Time
	}{
		{"events/lambda-go-autoscaling-event-launch-successful.json", SourceEventBridge, KindChange, "autoscaling", "EC2 Instance Launch Successful", "InProgress", time.Unix(0, 0)},
		{"events/lambda-go-cloudwatch-alarm-sns-payload-single-metric.json", SourceAlarm, KindError, "ec2", "INSUFFICIENT_DATA->ALARM", "ALARM", time.Date(2015, 6, 3, 17, 43, 27, 123e6, time.UTC)},
		{"events/lambda-go-codedeploy-deployment-event.json", SourceDeploy, KindChange, "myApplication", "CodeDeploy Deployment", "SUCCESS", time.Date(2016, 6, 30, 22, 6, 31, 0, time.UTC)},
		{"events/lambda-go-config-event.json", SourceConfig, KindInfo, "config", "ConfigurationSnapshotDeliveryCompleted", "", time.Date(2016, 2, 24, 18, 23, 20, 328e6, time.UTC)},
		{"events/powertools-awsConfigRuleConfigurationChanged.json", SourceConfig, KindChange, "ec2", "AWS::EC2::Instance", "UPDATE", time.Date(2023, 4, 27, 15, 3, 11, 636e6, time.UTC)},
		{"events/powertools-cloudWatchAlarmEventSingleMetric.json", SourceAlarm, KindError, "lambda", "OK->ALARM", "ALARM", time.Date(2024, 2, 17, 11, 53, 8, 431e6, time.UTC)},
		{"events/powertools-eventBridgeEvent.json", SourceEventBridge, KindSignal, "ec2", "EC2 Instance State-change Notification", "terminated", time.Date(2017, 12, 22, 18, 43, 48, 0, time.UTC)},
	}
	d := newTestDecoder(t, nil)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := readSample(t, tc.file)
			for _, f := range []Format{FormatAWSEvents, FormatAuto} {
				r := decode(t, d, f, data)
				if len(r.Events) != 1 || len(r.DeadLetters) != 0 {
					t.Fatalf("%s: %d events %d dead %+v", f, len(r.Events), len(r.DeadLetters), r.DeadLetters)
				}
				e := r.Events[0]
				if e.Source != tc.source || e.Kind != tc.kind || e.Service != tc.service || e.Operation != tc.op || e.Status != tc.status || !e.Time.Equal(tc.time) {
					t.Fatalf("%s: got %s %s %s %q %q %v", f, e.Source, e.Kind, e.Service, e.Operation, e.Status, e.Time)
				}
			}
			golden(t, strings.TrimSuffix(tc.file, ".json")+".jsonl", resultJSONL(t, decode(t, d, FormatAWSEvents, data)))
		})
	}
}

func TestConfigChangeDetails(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatAuto, readSample(t, "events/powertools-awsConfigRuleConfigurationChanged.json"))
	e := r.Events[0]
	if e.Resource != "arn:aws:ec2:us-east-1:0123456789012:instance/i-042dd005362091826" || e.Region != "us-east-1" || e.AccountID != "0123456789012" ||
		e.EventID != "config-i-042dd005362091826-1682607791636" || e.ChangeType != ChangeCompute || e.RiskClass != RiskMedium {
		t.Fatalf("%s %s %s %s %s %s", e.Resource, e.Region, e.AccountID, e.EventID, e.ChangeType, e.RiskClass)
	}
	if !strings.Contains(e.Message, "Configuration.InstanceType t2.micro -> t2.medium") || !strings.Contains(e.Attributes, `"changedProperties"`) || !strings.Contains(e.Attributes, `"relationships"`) {
		t.Fatalf("message %q attributes %.200s", e.Message, e.Attributes)
	}
}

const healthTmpl = `{"version":"0","id":"h-ID","detail-type":"AWS Health Event","source":"aws.health","account":"123456789012","time":"2023-01-26T13:20:00Z","region":"us-east-1","resources":[],"detail":{"eventArn":"arn:aws:health:us-east-1::event/EC2/X/1","service":"EC2","eventTypeCode":"CODE","eventTypeCategory":"CAT","eventScopeCode":"PUBLIC","communicationId":"c1","startTime":"Thu, 26 Jan 2023 13:19:03 GMT","endTime":"Thu, 26 Jan 2023 15:19:03 GMT","lastUpdatedTime":"Thu, 26 Jan 2023 13:19:03 GMT","statusCode":"STATUS","eventRegion":"us-east-1","eventDescription":[{"language":"en_US","latestDescription":"Degraded networking in use1-az1"}],"affectedEntities":[{"entityValue":"i-0abc"}],"affectedAccount":"123456789012"}}`

func health(id, code, cat, status string) []byte {
	r := strings.NewReplacer("ID", id, "CODE", code, "CAT", cat, "STATUS", status)
	return []byte(r.Replace(healthTmpl))
}

func TestAWSEventShapes(t *testing.T) {
	alarmEB := `{"version":"0","id":"al-1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx"],"detail":{"alarmName":"checkout-5xx","state":{"value":"OK","reason":"Threshold no longer crossed","timestamp":"2024-05-14T12:00:01.000+0000"},"previousState":{"value":"ALARM"},"configuration":{"metrics":[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/ApplicationELB","name":"HTTPCode_Target_5XX_Count","dimensions":{"LoadBalancer":"app/checkout/1"}},"period":60,"stat":"Sum"}}]}}}`
	configEB := `{"version":"0","id":"cfg-1","detail-type":"Config Configuration Item Change","source":"aws.config","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"],"detail":{"recordVersion":"1.3","messageType":"ConfigurationItemChangeNotification","configurationItemDiff":{"changedProperties":{"Configuration.IpPermissions.0":{"previousValue":null,"updatedValue":{"ipProtocol":"tcp"},"changeType":"CREATE"}},"changeType":"UPDATE"},"notificationCreationTime":"2024-05-14T12:00:00.500Z","configurationItem":{"configurationItemCaptureTime":"2024-05-14T11:59:58.000Z","awsAccountId":"123456789012","configurationItemStatus":"OK","resourceType":"AWS::EC2::SecurityGroup","resourceId":"sg-1","ARN":"arn:aws:ec2:us-east-1:123456789012:security-group/sg-1","awsRegion":"us-east-1","configurationStateId":17,"relationships":[]}}}`
	pipeline := `{"version":"0","id":"cp-1","detail-type":"CodePipeline Pipeline Execution State Change","source":"aws.codepipeline","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":["arn:aws:codepipeline:us-east-1:123456789012:checkout"],"detail":{"pipeline":"checkout","execution-id":"e-1","state":"FAILED","version":3}}`
	asgFail := `{"version":"0","id":"as-1","detail-type":"EC2 Instance Launch Unsuccessful","source":"aws.autoscaling","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x"],"detail":{"StatusCode":"Failed","Description":"Launching a new EC2 instance. Status Reason: InsufficientInstanceCapacity","AutoScalingGroupName":"web"}}`
	tests := []struct {
		name                  string
		in                    []byte
		events, dead          int
		source, kind, service string
		time                  time.Time
	}{
		{"health scheduled change", health("1", "AWS_EC2_MAINTENANCE_SCHEDULED", "scheduledChange", "upcoming"), 1, 0, SourceHealth, KindChange, "ec2", time.Date(2023, 1, 26, 13, 19, 3, 0, time.UTC)},
		{"health open issue", health("2", "AWS_EC2_OPERATIONAL_ISSUE", "issue", "open"), 1, 0, SourceHealth, KindError, "ec2", time.Date(2023, 1, 26, 13, 19, 3, 0, time.UTC)},
		{"health closed issue", health("3", "AWS_EC2_OPERATIONAL_ISSUE", "issue", "closed"), 1, 0, SourceHealth, KindSignal, "ec2", time.Date(2023, 1, 26, 13, 19, 3, 0, time.UTC)},
		{"health account notification", health("4", "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED", "accountNotification", "open"), 1, 0, SourceHealth, KindInfo, "ec2", time.Date(2023, 1, 26, 13, 19, 3, 0, time.UTC)},
		{"health bad start time", []byte(strings.Replace(string(health("5", "X", "issue", "open")), `"startTime":"Thu, 26 Jan 2023 13:19:03 GMT"`, `"startTime":"someday"`, 1)), 0, 1, "", "", "", time.Time{}},
		{"alarm back to OK", []byte(alarmEB), 1, 0, SourceAlarm, KindSignal, "elasticloadbalancing", time.Date(2024, 5, 14, 12, 0, 1, 0, time.UTC)},
		{"config item change", []byte(configEB), 1, 0, SourceConfig, KindChange, "ec2", time.Date(2024, 5, 14, 11, 59, 58, 0, time.UTC)},
		{"codepipeline failed", []byte(pipeline), 1, 0, SourceDeploy, KindChange, "checkout", time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC)},
		{"autoscaling launch unsuccessful", []byte(asgFail), 1, 0, SourceEventBridge, KindError, "autoscaling", time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC)},
		{"bad element in SNS records", []byte(`{"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"m1","Message":"not json"}},{"EventSource":"aws:sns","Sns":{"MessageId":"m2","Message":"{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"AlarmArn\":\"arn:aws:cloudwatch:us-west-2:123456789012:alarm:a\",\"StateChangeTime\":\"2024-02-17T11:53:08.431+0000\",\"Trigger\":{\"Namespace\":\"AWS/Lambda\",\"Dimensions\":[{\"name\":\"FunctionName\",\"value\":\"checkout\"}]}}"}}]}`), 1, 1, SourceAlarm, KindError, "checkout", time.Date(2024, 2, 17, 11, 53, 8, 431e6, time.UTC)},
		{"config oversized item", []byte(`{"version":"0","id":"cfg-2","detail-type":"Config Configuration Item Change","source":"aws.config","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":[],"detail":{"messageType":"OversizedConfigurationItemChangeNotification","configurationItemSummary":{"changeType":"UPDATE","configurationItemCaptureTime":"2024-05-14T11:59:00.000Z","resourceType":"AWS::ElasticLoadBalancingV2::Listener","resourceId":"l-1","ARN":"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2","awsRegion":"us-east-1","awsAccountId":"123456789012"}}}`), 1, 0, SourceConfig, KindChange, "elasticloadbalancing", time.Date(2024, 5, 14, 11, 59, 0, 0, time.UTC)},
		{"no detail-type", []byte(`{"version":"0","id":"x"}`), 0, 1, "", "", "", time.Time{}},
	}
	d := newTestDecoder(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, d, FormatAWSEvents, tc.in)
			if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead {
				t.Fatalf("events %d dead %d, want %d %d: %+v", len(r.Events), len(r.DeadLetters), tc.events, tc.dead, r.DeadLetters)
			}
			if tc.events == 0 {
				return
			}
			e := r.Events[0]
			if e.Source != tc.source || e.Kind != tc.kind || e.Service != tc.service || !e.Time.Equal(tc.time) {
				t.Fatalf("got %s %s %s %v; want %s %s %s %v", e.Source, e.Kind, e.Service, e.Time, tc.source, tc.kind, tc.service, tc.time)
			}
			if tc.events == 1 && tc.dead == 0 {
				if fa := decode(t, d, FormatAuto, tc.in); len(fa.Events) != 1 || fa.Events[0].Kind != tc.kind {
					t.Fatalf("auto-detection: %+v", fa)
				}
			}
		})
	}
	r := decode(t, d, FormatAWSEvents, health("1", "AWS_EC2_MAINTENANCE_SCHEDULED", "scheduledChange", "upcoming"))
	if e := r.Events[0]; e.EventID != "h-1" || e.Operation != "AWS_EC2_MAINTENANCE_SCHEDULED" || e.Resource != "i-0abc" || e.Message != "Degraded networking in use1-az1" || e.ChangeType != ChangeProvider || e.RiskClass != RiskHigh {
		t.Fatalf("health details %+v", e)
	}
	r = decode(t, d, FormatAWSEvents, []byte(configEB))
	if e := r.Events[0]; e.EventID != "cfg-1" || e.ChangeType != ChangeNetworking || e.RiskClass != RiskHigh || e.Status != "UPDATE" {
		t.Fatalf("config details %+v", e)
	}
}
