package transform

import "testing"

func TestSeverityFromText(t *testing.T) {
	tests := []struct {
		line string
		want int32
	}{
		{"[ERROR] First test message", SeverityError},
		{"[ERROR]\t2024-05-14T12:00:00.123Z\t8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d\tboom", SeverityError},
		{"2024-05-14T12:00:00.123Z\t8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d\tERROR\tInvoke Error", SeverityError},
		{"2024-05-14 12:00:00 WARN slow", SeverityWarn},
		{"[warning] disk", SeverityWarn},
		{"INFO starting", SeverityInfo},
		{"an error occurred but lower case prose", 0},
		{"START RequestId: abc Version: $LATEST", SeverityInfo},
		{"END RequestId: abc", SeverityInfo},
		{"REPORT RequestId: abc\tDuration: 2.00 ms", SeverityInfo},
		{"REPORT RequestId: abc\tDuration: 3000.00 ms\tStatus: timeout", SeverityError},
		{"2024-05-14T12:00:00.123Z abc Task timed out after 3.00 seconds", SeverityError},
		{"FATAL out of memory", SeverityFatal},
		{"[CRITICAL] db down", SeverityError + 2},
		{"", 0},
	}
	for _, tc := range tests {
		if got := severityFromText(tc.line); got != tc.want {
			t.Errorf("severityFromText(%q) = %d, want %d", tc.line, got, tc.want)
		}
	}
}

func TestSeverityMappings(t *testing.T) {
	for level, want := range map[string]int32{"error": 17, "ERR": 17, "Warning": 13, "notice": 9, "debug": 5, "trace": 1, "fatal": 21, "panic": 21, "50": 17, "30": 9, "60": 21, "17": 17, "20": 5, "99": 0, "3": 3, "bogus": 0} {
		if got := severityFromLevel(level); got != want {
			t.Errorf("severityFromLevel(%q) = %d, want %d", level, got, want)
		}
	}
	for state, want := range map[string]int32{"ALARM": 17, "OK": 9, "INSUFFICIENT_DATA": 13, "x": 0} {
		if got := severityFromAlarm(state); got != want {
			t.Errorf("severityFromAlarm(%q) = %d", state, got)
		}
	}
	for code, want := range map[string]int32{"InternalError": 17, "ServiceUnavailableException": 17, "RequestTimeout": 17, "AccessDenied": 13, "ThrottlingException": 13, "Client.UnauthorizedOperation": 13} {
		if got, _ := severityFromAPIError(code); got != want {
			t.Errorf("severityFromAPIError(%q) = %d", code, got)
		}
	}
	for n, want := range map[int32]string{0: "", 1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL", 24: "FATAL"} {
		if got := severityName(n); got != want {
			t.Errorf("severityName(%d) = %q", n, got)
		}
	}
	for n, want := range map[int32]string{0: KindInfo, 9: KindInfo, 13: KindSignal, 17: KindError, 21: KindError} {
		if got := kindOf(n); got != want {
			t.Errorf("kindOf(%d) = %q", n, got)
		}
	}
}
