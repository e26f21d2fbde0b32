package transform

import (
	"bytes"
	"fmt"
	"testing"
)

// benchRecords builds a CloudTrail-like Records file of n records.
func benchRecords(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","eventTime":"2024-08-01T13:29:%02dZ","eventSource":"ec2.amazonaws.com","eventName":"ModifySecurityGroupRules","awsRegion":"us-east-1","recipientAccountId":"123456789012","requestParameters":{"groupId":"sg-%08d","rules":[{"cidr":"10.0.0.0/8","port":443}]},"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/deploy/ci"},"eventID":"id-%d","readOnly":false}`, i%60, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func benchSplit(b *testing.B, data []byte, want int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := SplitFile(data, 1<<30, func(RecordPos, []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("%d records, want %d", n, want)
		}
	}
}

func BenchmarkSplitFileRecords(b *testing.B) { benchSplit(b, benchRecords(10000), 10000) }

func BenchmarkSplitFileRecordsGzip(b *testing.B) {
	benchSplit(b, splitGzipBytes(b, benchRecords(10000)), 10000)
}

func BenchmarkSplitFileNDJSON(b *testing.B) {
	var buf bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&buf, `{"time":"2025-10-20T07:12:03.120Z","service":"checkout","level":"error","message":"timeout %d","error.type":"DynamoDBTimeout"}`+"\n", i)
	}
	benchSplit(b, buf.Bytes(), 10000)
}
