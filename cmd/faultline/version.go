package main

import (
	"runtime/debug"
)

// version is set at build time by the Makefile
// (-ldflags "-X main.version=$(VERSION)", git describe); without it the
// module version or VCS revision from the build info is used.
var version = ""

// versionString is what `faultline --version` prints after "faultline version ".
func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	if ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" && version == "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			v += " (" + rev + dirty + ")"
		}
		v += " " + info.GoVersion
	}
	return v
}
