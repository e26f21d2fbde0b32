package transform

import (
	"errors"
	"strconv"
	"strings"
)

// OpenTelemetry severity numbers (the first of each range).
const (
	SeverityTrace int32 = 1
	SeverityDebug int32 = 5
	SeverityInfo  int32 = 9
	SeverityWarn  int32 = 13
	SeverityError int32 = 17
	SeverityFatal int32 = 21
)

// severityName is the OpenTelemetry short name of a severity number.
func severityName(n int32) string {
	switch {
	case n <= 0:
		return ""
	case n < SeverityDebug:
		return "TRACE"
	case n < SeverityInfo:
		return "DEBUG"
	case n < SeverityWarn:
		return "INFO"
	case n < SeverityError:
		return "WARN"
	case n < SeverityFatal:
		return "ERROR"
	}
	return "FATAL"
}

// kindOf maps a severity to a kind: ERROR and worse are errors, WARN is a
// signal, the rest is info.
func kindOf(n int32) string {
	switch {
	case n >= SeverityError:
		return KindError
	case n >= SeverityWarn:
		return KindSignal
	}
	return KindInfo
}

// severityFromLevel maps a level name (JSON "level", syslog, log4j, Python,
// Go slog, bunyan/pino numbers) to an OpenTelemetry severity number. It
// returns 0 for an unknown level.
func severityFromLevel(level string) int32 {
	l := strings.TrimSpace(level)
	if l == "" {
		return 0
	}
	if n, err := atoiDigits(l); err == nil {
		// bunyan/pino: 10 trace, 20 debug, 30 info, 40 warn, 50 error,
		// 60 fatal; any other 1-24 is an OpenTelemetry number already.
		switch n {
		case 10:
			return SeverityTrace
		case 20:
			return SeverityDebug
		case 30:
			return SeverityInfo
		case 40:
			return SeverityWarn
		case 50:
			return SeverityError
		case 60:
			return SeverityFatal
		}
		if n >= 1 && n <= 24 {
			return int32(n)
		}
		return 0
	}
	switch strings.ToUpper(l) {
	case "TRACE", "FINEST", "FINER", "VERBOSE":
		return SeverityTrace
	case "DEBUG", "FINE", "DBG":
		return SeverityDebug
	case "INFO", "INFORMATION", "INFORMATIONAL", "NOTICE", "CONFIG", "INF":
		return SeverityInfo
	case "WARN", "WARNING", "WRN":
		return SeverityWarn
	case "ERROR", "ERR", "SEVERE", "EXCEPTION":
		return SeverityError
	case "CRITICAL", "CRIT", "ALERT":
		return SeverityError + 2 // ERROR3
	case "FATAL", "PANIC", "EMERG", "EMERGENCY":
		return SeverityFatal
	}
	return 0
}

// severityFromText classifies a plain log line: Lambda runtime lines
// (START/END/REPORT, "Task timed out"), bracketed levels ("[ERROR]") and
// bare upper-case level tokens among the first few fields ("2024-... ERROR
// ..."). It returns 0 when the line says nothing about its level.
func severityFromText(msg string) int32 {
	m := strings.TrimLeft(msg, " \t\r\n")
	switch {
	case strings.HasPrefix(m, "START RequestId:"), strings.HasPrefix(m, "END RequestId:"),
		strings.HasPrefix(m, "INIT_START"), strings.HasPrefix(m, "EXTENSION"), strings.HasPrefix(m, "TELEMETRY"):
		return SeverityInfo
	case strings.HasPrefix(m, "REPORT RequestId:"):
		if strings.Contains(m, "Status: timeout") || strings.Contains(m, "Status: error") {
			return SeverityError
		}
		return SeverityInfo
	case strings.Contains(m, "Task timed out after"):
		return SeverityError
	case strings.Contains(m, "Runtime exited with error"), strings.Contains(m, "Runtime.ExitError"),
		strings.Contains(m, "Process exited before completing request"):
		return SeverityError
	}
	// Bracketed level anywhere in the first 80 bytes: [ERROR], [warn].
	head := m
	if len(head) > 80 {
		head = head[:80]
	}
	for i := 0; i < len(head); i++ {
		if head[i] != '[' {
			continue
		}
		j := strings.IndexByte(head[i+1:], ']')
		if j < 0 {
			break
		}
		if n := severityFromLevel(head[i+1 : i+1+j]); n != 0 {
			return n
		}
		i += j
	}
	// Bare upper-case token among the first six whitespace-separated fields.
	fields := 0
	for i := 0; i < len(m) && fields < 6; {
		for i < len(m) && (m[i] == ' ' || m[i] == '\t') {
			i++
		}
		j := i
		for j < len(m) && m[j] != ' ' && m[j] != '\t' && m[j] != '\n' {
			j++
		}
		tok := strings.TrimRight(m[i:j], ":")
		if isUpperToken(tok) {
			if n := severityFromLevel(tok); n != 0 {
				return n
			}
		}
		fields++
		if j < len(m) && m[j] == '\n' {
			break
		}
		i = j
	}
	return 0
}

func isUpperToken(s string) bool {
	if len(s) < 3 || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// severityFromAlarm maps a CloudWatch alarm state.
func severityFromAlarm(state string) int32 {
	switch strings.ToUpper(state) {
	case "ALARM":
		return SeverityError
	case "INSUFFICIENT_DATA":
		return SeverityWarn
	case "OK":
		return SeverityInfo
	}
	return 0
}

// severityFromAPIError maps a failed AWS API call's error code: server-side
// faults and capacity/timeouts are ERROR, throttling and client errors
// (access denied, validation, not found) are WARN.
func severityFromAPIError(code string) (int32, string) {
	c := strings.ToLower(code)
	switch {
	case strings.Contains(c, "internal"), strings.Contains(c, "serviceunavailable"),
		strings.Contains(c, "serviceexception"), strings.Contains(c, "servicefailure"),
		strings.Contains(c, "timeout"), strings.Contains(c, "timedout"),
		strings.Contains(c, "insufficientcapacity"), strings.Contains(c, "unavailable"),
		strings.HasPrefix(c, "5"):
		return SeverityError, "ERROR"
	}
	return SeverityWarn, "WARN"
}

// errNotDigits: atoiDigits' error for text that does not start with a digit.
var errNotDigits = errors.New("not a number")

// atoiDigits is strconv.Atoi for text that starts with a digit; other text
// fails without the allocation of strconv's syntax error (level names are
// far more common than level numbers).
func atoiDigits(s string) (int, error) {
	if s == "" || !isDigit(s[0]) {
		return 0, errNotDigits
	}
	return strconv.Atoi(s)
}
