package simulate

import (
	"encoding/json"
	"time"
)

// Time layouts of the real formats.
const (
	layoutCloudTrail  = "2006-01-02T15:04:05Z"
	layoutApp         = "2006-01-02T15:04:05.000Z"
	layoutEventBridge = "2006-01-02T15:04:05Z"
	layoutHealth      = "Mon, 02 Jan 2006 15:04:05 GMT"
	layoutAlarm       = "2006-01-02T15:04:05.000-0700"
	layoutS3Key       = "20060102T1504Z"
	layoutRoute53     = "Jan 2, 2006 3:04:05 PM"
)

// ctRecord is one CloudTrail record, fields in the order CloudTrail writes them.
type ctRecord struct {
	EventVersion       string         `json:"eventVersion"`
	UserIdentity       ctIdentity     `json:"userIdentity"`
	EventTime          string         `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress"`
	UserAgent          string         `json:"userAgent"`
	ErrorCode          string         `json:"errorCode,omitempty"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	RequestID          string         `json:"requestID"`
	EventID            string         `json:"eventID"`
	ReadOnly           bool           `json:"readOnly"`
	Resources          []ctResource   `json:"resources,omitempty"`
	EventType          string         `json:"eventType"`
	ManagementEvent    bool           `json:"managementEvent"`
	RecipientAccountID string         `json:"recipientAccountId"`
	EventCategory      string         `json:"eventCategory"`
	TLSDetails         *ctTLS         `json:"tlsDetails,omitempty"`
}

type ctIdentity struct {
	Type           string     `json:"type"`
	PrincipalID    string     `json:"principalId"`
	Arn            string     `json:"arn"`
	AccountID      string     `json:"accountId"`
	AccessKeyID    string     `json:"accessKeyId,omitempty"`
	SessionContext *ctSession `json:"sessionContext,omitempty"`
}

type ctSession struct {
	SessionIssuer       ctIssuer          `json:"sessionIssuer"`
	WebIDFederationData map[string]string `json:"webIdFederationData"`
	Attributes          ctSessionAttrs    `json:"attributes"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	Arn         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type ctSessionAttrs struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type ctResource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type ctTLS struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// actor is a principal that makes API calls: a person through a role, a
// pipeline, or a service's task role.
type actor struct {
	name      string // user or session name
	role      string // IAM role assumed
	agent     string // userAgent
	ip        string
	roleID    string // AROA...
	accessKey string
	mfa       bool
}

func newActors(r *rnd, account string) []actor {
	mk := func(name, role, agent, ip string, mfa bool) actor {
		return actor{name: name, role: role, agent: agent, ip: ip, roleID: "AROA" + r.upper(17), accessKey: "ASIA" + r.upper(16), mfa: mfa}
	}
	cli := "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off"
	tf := "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64"
	return []actor{
		mk("alice", "PlatformAdmin", cli, r.ipv4(), true),
		mk("bob", "PlatformAdmin", "AWS Internal", r.ipv4(), true),
		mk("carol", "SRE", cli, r.ipv4(), true),
		mk("dmitri", "NetworkAdmin", "console.amazonaws.com", r.ipv4(), true),
		mk("gha-"+r.hex(8), "terraform-ci", tf, r.ipv4(), false),
		mk("codepipeline-"+r.hex(6), "deploy-pipeline", "codepipeline.amazonaws.com", "codepipeline.amazonaws.com", false),
	}
}

// serviceActor is the task/execution role of an application service.
func serviceActor(r *rnd, svc string) actor {
	return actor{
		name:      svc + "-" + r.hex(12),
		role:      svc + "-task-role",
		agent:     "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 exec-env/AWS_ECS_FARGATE",
		ip:        r.privateIP(),
		roleID:    "AROA" + r.upper(17),
		accessKey: "ASIA" + r.upper(16),
	}
}

func (a actor) arn(account string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + a.role + "/" + a.name
}

func (a actor) identity(account string, at time.Time) ctIdentity {
	mfa := "false"
	if a.mfa {
		mfa = "true"
	}
	return ctIdentity{
		Type: "AssumedRole", PrincipalID: a.roleID + ":" + a.name, Arn: a.arn(account), AccountID: account, AccessKeyID: a.accessKey,
		SessionContext: &ctSession{
			SessionIssuer:       ctIssuer{Type: "Role", PrincipalID: a.roleID, Arn: "arn:aws:iam::" + account + ":role/" + a.role, AccountID: account, UserName: a.role},
			WebIDFederationData: map[string]string{},
			Attributes:          ctSessionAttrs{CreationDate: at.Add(-37 * time.Minute).Format(layoutCloudTrail), MFAAuthenticated: mfa},
		},
	}
}

// newCT fills the common fields of a CloudTrail record.
func newCT(r *rnd, account string, a actor, at time.Time, source, name, region string, readOnly bool) *ctRecord {
	host := source
	if region != "" && source != "iam.amazonaws.com" && source != "route53.amazonaws.com" {
		host = source[:len(source)-len(".amazonaws.com")] + "." + region + ".amazonaws.com"
	}
	return &ctRecord{
		EventVersion: "1.10", UserIdentity: a.identity(account, at), EventTime: at.UTC().Format(layoutCloudTrail),
		EventSource: source, EventName: name, AWSRegion: region, SourceIPAddress: a.ip, UserAgent: a.agent,
		RequestID: r.uuid(), EventID: r.uuid(), ReadOnly: readOnly, EventType: "AwsApiCall", ManagementEvent: true,
		RecipientAccountID: account, EventCategory: "Management",
		TLSDetails: &ctTLS{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: host},
	}
}

// appLine is one application log line (OpenTelemetry attribute names).
type appLine struct {
	Time          string `json:"time"`
	Service       string `json:"service"`
	Level         string `json:"level"`
	Message       string `json:"message"`
	ErrorType     string `json:"error.type,omitempty"`
	Region        string `json:"region"`
	ServerAddress string `json:"server.address,omitempty"`
	HTTPMethod    string `json:"http.request.method,omitempty"`
	HTTPRoute     string `json:"http.route,omitempty"`
	HTTPStatus    int    `json:"http.response.status_code,omitempty"`
	DurationMS    int    `json:"duration_ms,omitempty"`
	TraceID       string `json:"trace_id"`
	SpanID        string `json:"span_id"`
	Version       string `json:"version"`
	Env           string `json:"env"`
}

// deployEvent is a deploy on the application stream.
type deployEvent struct {
	Time            string `json:"time"`
	Service         string `json:"service"`
	Kind            string `json:"kind"`
	Version         string `json:"version"`
	PreviousVersion string `json:"previous_version"`
	Actor           string `json:"actor"`
	EventID         string `json:"event_id"`
	Region          string `json:"region"`
	Env             string `json:"env"`
	Commit          string `json:"vcs.revision"`
	Strategy        string `json:"strategy"`
}

// ecsLine is a structured JSON log line written by an ECS service.
type ecsLine struct {
	Time          string `json:"time"`
	Level         string `json:"level"`
	Msg           string `json:"msg"`
	Service       string `json:"service"`
	ErrorType     string `json:"error.type,omitempty"`
	ServerAddress string `json:"server.address,omitempty"`
	HTTPRoute     string `json:"http.route,omitempty"`
	HTTPStatus    int    `json:"http.response.status_code,omitempty"`
	TraceID       string `json:"trace_id"`
}

// cwPayload is a CloudWatch Logs subscription payload (before gzip).
type cwPayload struct {
	MessageType         string       `json:"messageType"`
	Owner               string       `json:"owner"`
	LogGroup            string       `json:"logGroup"`
	LogStream           string       `json:"logStream"`
	SubscriptionFilters []string     `json:"subscriptionFilters"`
	PolicyLevel         string       `json:"policyLevel,omitempty"`
	LogEvents           []cwLogEvent `json:"logEvents"`
}

type cwLogEvent struct {
	ID              string            `json:"id"`
	Timestamp       int64             `json:"timestamp"`
	Message         string            `json:"message"`
	ExtractedFields map[string]string `json:"extractedFields,omitempty"`
}

// ebEvent is an EventBridge envelope.
type ebEvent struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return b
}
