package transform

import (
	"bytes"
	"strings"
)

// awsService turns an AWS endpoint or event source into a service name:
// elasticloadbalancing.amazonaws.com -> elasticloadbalancing,
// dynamodb.us-east-1.amazonaws.com -> dynamodb, aws.ec2 -> ec2.
func awsService(s string) string {
	s = strings.TrimPrefix(s, "aws.")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// awsServiceRaw is awsService of a raw JSON string, allocating only the result.
func awsServiceRaw(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return awsService(str(raw))
	}
	b := raw[1 : len(raw)-1]
	b = bytes.TrimPrefix(b, []byte("aws."))
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		b = b[:i]
	}
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(string(b))
		}
	}
	return string(b)
}

// arnPart returns field n (0-based) of an ARN, "" if s is not one.
func arnPart(arn string, n int) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	parts := strings.SplitN(arn, ":", 6)
	if n < len(parts) {
		return parts[n]
	}
	return ""
}
