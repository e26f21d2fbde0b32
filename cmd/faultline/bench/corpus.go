package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// Topics of the generated corpus, in Msg.Topic order, with their formats.
var Topics = []struct{ Name, Format string }{
	{"cloudtrail", "cloudtrail"},
	{"cloudwatch", "cloudwatch"},
	{"app", "app"},
}

// Partitions per corpus topic.
const Partitions = 2

// Msg is one Kafka message of the corpus.
type Msg struct {
	Topic int // index into Topics
	Value []byte
}

// Corpus is a generated, deterministic mix of input messages: about 70% of
// the events are CloudTrail records of 1-3 KB (one per message), 15% are
// CloudWatch Logs log events in gzip subscription payloads of 10, 15% are
// application error and log events.
type Corpus struct {
	Msgs   []Msg
	Events int   // events the messages decode to
	Bytes  int64 // raw message bytes
}

// corpusStart is the time of the first generated event.
var corpusStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// cwBatch is the number of log events per CloudWatch payload.
const cwBatch = 10

// Generate returns a corpus of about events events (rounded up to whole
// CloudWatch payloads), the same for the same seed.
func Generate(events int, seed uint64) *Corpus {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	c := &Corpus{}
	span := 6 * time.Hour
	step := span / time.Duration(max(events, 1))
	for c.Events < events {
		t := corpusStart.Add(step * time.Duration(c.Events))
		var m Msg
		n := 1
		switch x := g.r.IntN(100); {
		case x < 70:
			m = Msg{Topic: 0, Value: g.cloudTrail(t)}
		case x < 85:
			// One payload per cwBatch events keeps the event shares right.
			if g.r.IntN(cwBatch) != 0 {
				continue
			}
			m = Msg{Topic: 1, Value: g.cloudWatch(t)}
			n = cwBatch
		default:
			m = Msg{Topic: 2, Value: g.app(t)}
		}
		c.Msgs = append(c.Msgs, m)
		c.Events += n
		c.Bytes += int64(len(m.Value))
	}
	return c
}

type gen struct {
	r   *rand.Rand
	buf []byte
}

var (
	regions  = []string{"us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}
	accounts = []string{"123456789012", "210987654321", "345678901234", "456789012345"}
	services = []string{"checkout", "cart", "payments", "search", "catalog", "auth", "orders", "shipping", "inventory", "recommendations", "notifications", "gateway"}
	roles    = []string{"DeployRole", "OpsAdmin", "ci-runner", "TerraformApply", "ReadOnlyAuditor", "eks-node-role"}
	agents   = []string{
		"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
		"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.151.1",
		"console.amazonaws.com",
	}
)

// calls are CloudTrail API calls: source, name, read only, and how often.
var calls = []struct {
	source, name string
	readOnly     bool
	weight       int
}{
	{"ec2.amazonaws.com", "DescribeInstances", true, 30},
	{"sts.amazonaws.com", "AssumeRole", true, 20},
	{"s3.amazonaws.com", "GetBucketAcl", true, 10},
	{"dynamodb.amazonaws.com", "DescribeTable", true, 10},
	{"kms.amazonaws.com", "Decrypt", true, 15},
	{"elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", true, 6},
	{"lambda.amazonaws.com", "GetFunction", true, 4},
	{"elasticloadbalancing.amazonaws.com", "ModifyListener", false, 1},
	{"ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false, 1},
	{"route53.amazonaws.com", "ChangeResourceRecordSets", false, 1},
	{"lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", false, 1},
	{"iam.amazonaws.com", "PutRolePolicy", false, 1},
}

var callWeights = func() int {
	n := 0
	for _, c := range calls {
		n += c.weight
	}
	return n
}()

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) hex(b []byte, n int) []byte {
	const digits = "0123456789abcdef"
	for i := 0; i < n; i++ {
		b = append(b, digits[g.r.IntN(16)])
	}
	return b
}

func (g *gen) uuid(b []byte) []byte {
	b = g.hex(b, 8)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	return g.hex(b, 12)
}

func (g *gen) upper(b []byte, n int) []byte {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := 0; i < n; i++ {
		b = append(b, digits[g.r.IntN(len(digits))])
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
}

// cloudTrail returns one compact CloudTrail record of 1-3 KB.
func (g *gen) cloudTrail(t time.Time) []byte {
	w := g.r.IntN(callWeights)
	c := calls[0]
	for _, x := range calls {
		if w < x.weight {
			c = x
			break
		}
		w -= x.weight
	}
	acct, region, role := g.pick(accounts), g.pick(regions), g.pick(roles)
	session := strconv.Itoa(1000000 + g.r.IntN(9000000))
	b := make([]byte, 0, 3200)
	b = append(b, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA`...)
	b = g.upper(b, 17)
	b = append(b, ':', 's')
	b = append(b, session...)
	b = append(b, `","arn":"arn:aws:sts::`...)
	b = append(b, acct...)
	b = append(b, `:assumed-role/`...)
	b = append(b, role...)
	b = append(b, "/s"...)
	b = append(b, session...)
	b = append(b, `","accountId":"`...)
	b = append(b, acct...)
	b = append(b, `","accessKeyId":"ASIA`...)
	b = g.upper(b, 16)
	b = append(b, `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA`...)
	b = g.upper(b, 17)
	b = append(b, `","arn":"arn:aws:iam::`...)
	b = append(b, acct...)
	b = append(b, `:role/`...)
	b = append(b, role...)
	b = append(b, `","accountId":"`...)
	b = append(b, acct...)
	b = append(b, `","userName":"`...)
	b = append(b, role...)
	b = append(b, `"},"webIdFederationData":{},"attributes":{"creationDate":"`...)
	b = appendTime(b, t.Add(-time.Duration(g.r.IntN(3600))*time.Second))
	b = append(b, `","mfaAuthenticated":"false"}}},"eventTime":"`...)
	b = appendTime(b, t)
	b = append(b, `","eventSource":"`...)
	b = append(b, c.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, c.name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, region...)
	b = append(b, `","sourceIPAddress":"10.`...)
	b = strconv.AppendInt(b, int64(g.r.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(g.r.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(g.r.IntN(256)), 10)
	b = append(b, `","userAgent":"`...)
	b = append(b, g.pick(agents)...)
	failed := !c.readOnly && g.r.IntN(20) == 0 || c.readOnly && g.r.IntN(40) == 0
	if failed {
		b = append(b, `","errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::`...)
		b = append(b, acct...)
		b = append(b, `:assumed-role/`...)
		b = append(b, role...)
		b = append(b, ` is not authorized to perform: `...)
		b = append(b, c.name...)
		b = append(b, ` because no identity-based policy allows the action`...)
	}
	b = append(b, `","requestParameters":{`...)
	// Parameters of varying size put records between 1 and 3 KB.
	items := 1 + g.r.IntN(14)
	b = append(b, `"filterSet":{"items":[`...)
	for i := 0; i < items; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"tag:service","valueSet":{"items":[{"value":"`...)
		b = append(b, g.pick(services)...)
		b = append(b, `"},{"value":"i-0`...)
		b = g.hex(b, 16)
		b = append(b, `"}]}}`...)
	}
	b = append(b, `]},"resourceArn":"arn:aws:`...)
	b = append(b, c.source[:len(c.source)-len(".amazonaws.com")]...)
	b = append(b, ':')
	b = append(b, region...)
	b = append(b, ':')
	b = append(b, acct...)
	b = append(b, `:resource/`...)
	b = append(b, g.pick(services)...)
	b = append(b, '-')
	b = g.hex(b, 8)
	b = append(b, `"},"responseElements":`...)
	if c.readOnly || failed {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"requestId":"`...)
		b = g.uuid(b)
		b = append(b, `","return":true}`...)
	}
	b = append(b, `,"requestID":"`...)
	b = g.uuid(b)
	b = append(b, `","eventID":"`...)
	b = g.uuid(b)
	b = append(b, `","readOnly":`...)
	b = strconv.AppendBool(b, c.readOnly)
	b = append(b, `,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"`...)
	b = append(b, acct...)
	b = append(b, `","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
	b = append(b, c.source[:len(c.source)-len("amazonaws.com")]...)
	b = append(b, region...)
	b = append(b, `.amazonaws.com"}}`...)
	return b
}

// cloudWatch returns a gzip CloudWatch Logs subscription DATA_MESSAGE of
// cwBatch Lambda log events.
func (g *gen) cloudWatch(t time.Time) []byte {
	svc, acct := g.pick(services), g.pick(accounts)
	b := g.buf[:0]
	b = append(b, `{"messageType":"DATA_MESSAGE","owner":"`...)
	b = append(b, acct...)
	b = append(b, `","logGroup":"/aws/lambda/`...)
	b = append(b, svc...)
	b = append(b, `","logStream":"2026/03/02/[$LATEST]`...)
	b = g.hex(b, 32)
	b = append(b, `","subscriptionFilters":["errors-to-kafka"],"logEvents":[`...)
	for i := 0; i < cwBatch; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		ts := t.Add(time.Duration(i) * 37 * time.Millisecond)
		b = append(b, `{"id":"`...)
		for j := 0; j < 56; j++ {
			b = append(b, byte('0'+g.r.IntN(10)))
		}
		b = append(b, `","timestamp":`...)
		b = strconv.AppendInt(b, ts.UnixMilli(), 10)
		b = append(b, `,"message":"`...)
		b = ts.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, `\t`...)
		b = g.uuid(b)
		switch x := g.r.IntN(10); {
		case x < 4:
			b = append(b, `\tERROR\tInvoke Error \t{\"errorType\":\"TimeoutError\",\"errorMessage\":\"DynamoDB request to table orders timed out after 3000ms\",\"stack\":[\"TimeoutError: timed out\",\"    at Runtime.handler (/var/task/index.js:42:11)\"]}\n"}`...)
		case x < 8:
			b = append(b, `\tINFO\tprocessed request for cart `...)
			b = g.hex(b, 12)
			b = append(b, ` in 87 ms\n"}`...)
		default:
			b = append(b, `REPORT RequestId: `...)
			b = g.uuid(b)
			b = append(b, `\tDuration: 3001.23 ms\tBilled Duration: 3000 ms\tMemory Size: 512 MB\tMax Memory Used: 187 MB\t\n"}`...)
		}
	}
	b = append(b, "]}"...)
	g.buf = b
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed) // a valid level: no error
	_, err := zw.Write(b)
	if err = errors.Join(err, zw.Close()); err != nil {
		panic(fmt.Sprintf("gzip into memory: %v", err)) // writes to a bytes.Buffer do not fail
	}
	return z.Bytes()
}

var errorTypes = []struct{ typ, peer, msg string }{
	{"DynamoDBTimeout", "dynamodb", "DynamoDB GetItem on table orders timed out after 3000ms"},
	{"ConnectionRefused", "elasticloadbalancing", "dial tcp 10.0.12.7:443: connect: connection refused"},
	{"AccessDeniedException", "kms", "User is not authorized to perform kms:Decrypt on this resource"},
	{"ThrottlingException", "lambda", "Rate exceeded"},
	{"UnknownHostException", "route53", "lookup payments.internal.example.com: no such host"},
}

// app returns one application event: mostly errors, some info lines and
// rare deploys.
func (g *gen) app(t time.Time) []byte {
	svc, region := g.pick(services), g.pick(regions)
	b := make([]byte, 0, 512)
	b = append(b, `{"time":"`...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","service":"`...)
	b = append(b, svc...)
	if g.r.IntN(200) == 0 {
		b = append(b, `","kind":"deploy","version":"1.`...)
		b = strconv.AppendInt(b, int64(g.r.IntN(40)), 10)
		b = append(b, `.0","actor":"ci-runner","region":"`...)
		b = append(b, region...)
		b = append(b, `","env":"prod"}`...)
		return b
	}
	e := errorTypes[g.r.IntN(len(errorTypes))]
	level := "error"
	if g.r.IntN(4) == 0 {
		level = "info"
	}
	b = append(b, `","level":"`...)
	b = append(b, level...)
	b = append(b, `","message":"`...)
	b = append(b, e.msg...)
	b = append(b, `","error.type":"`...)
	b = append(b, e.typ...)
	b = append(b, `","region":"`...)
	b = append(b, region...)
	b = append(b, `","server.address":"`...)
	b = append(b, e.peer...)
	b = append(b, '.')
	b = append(b, region...)
	b = append(b, `.amazonaws.com","trace_id":"`...)
	b = g.hex(b, 32)
	b = append(b, `","span_id":"`...)
	b = g.hex(b, 16)
	b = append(b, `","http.route":"/api/v1/`...)
	b = append(b, svc...)
	b = append(b, `","http.response.status_code":503,"version":"1.4.2","env":"prod"}`...)
	return b
}

// WriteFile stores the corpus for the stage processes: per message one
// byte topic, four bytes length, the value.
func (c *Corpus) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write corpus: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [5]byte
	for _, m := range c.Msgs {
		hdr[0] = byte(m.Topic)
		binary.LittleEndian.PutUint32(hdr[1:], uint32(len(m.Value)))
		w.Write(hdr[:])
		w.Write(m.Value)
	}
	return errors.Join(w.Flush(), f.Close())
}

// ReadCorpus reads a corpus written by WriteFile. Events is recomputed by
// the caller if needed (it is not stored).
func ReadCorpus(path string) (*Corpus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	c := &Corpus{}
	for len(data) > 0 {
		if len(data) < 5 {
			return nil, fmt.Errorf("read corpus %s: truncated header", path)
		}
		n := int(binary.LittleEndian.Uint32(data[1:5]))
		if len(data) < 5+n || int(data[0]) >= len(Topics) {
			return nil, fmt.Errorf("read corpus %s: truncated or corrupt message", path)
		}
		c.Msgs = append(c.Msgs, Msg{Topic: int(data[0]), Value: data[5 : 5+n : 5+n]})
		c.Bytes += int64(n)
		data = data[5+n:]
	}
	return c, nil
}

// WriteNDJSON writes the corpus as newline-delimited JSON for DuckDB's
// read_json: CloudTrail and app records as they are, CloudWatch payloads
// decompressed (read_json does not inflate gzip inside a line). It returns
// the bytes written.
func (c *Corpus) WriteNDJSON(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("write ndjson: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for _, m := range c.Msgs {
		v := m.Value
		if Topics[m.Topic].Format == "cloudwatch" {
			zr, err := gzip.NewReader(bytes.NewReader(v))
			if err != nil {
				f.Close()
				return 0, fmt.Errorf("write ndjson: %w", err)
			}
			if v, err = io.ReadAll(zr); err != nil {
				f.Close()
				return 0, fmt.Errorf("write ndjson: %w", err)
			}
		}
		w.Write(v)
		w.WriteByte('\n')
		n += int64(len(v)) + 1
	}
	return n, errors.Join(w.Flush(), f.Close())
}

// GenerateTopic returns about events events of one corpus topic only
// (Topics[topic]), generated like Generate's: the per-source corpora of the
// storage measurement and of the load stages.
func GenerateTopic(topic, events int, seed uint64) *Corpus {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	c := &Corpus{}
	step := 6 * time.Hour / time.Duration(max(events, 1))
	for c.Events < events {
		t := corpusStart.Add(step * time.Duration(c.Events))
		m := Msg{Topic: topic}
		n := 1
		switch Topics[topic].Format {
		case "cloudtrail":
			m.Value = g.cloudTrail(t)
		case "cloudwatch":
			m.Value, n = g.cloudWatch(t), cwBatch
		default:
			m.Value = g.app(t)
		}
		c.Msgs = append(c.Msgs, m)
		c.Events += n
		c.Bytes += int64(len(m.Value))
	}
	return c
}
