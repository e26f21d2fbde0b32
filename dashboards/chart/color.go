package chart

import "hash/fnv"

// ServicePalette holds the colours a service can get. It has no pure red
// (the top suspect's marker) and no light tints (lines stay readable on
// white).
var ServicePalette = []string{
	"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#c9a227",
	"#9c755f", "#d37295", "#17becf", "#8f9a1c", "#1f4e8c", "#e15759",
	"#6b4c9a", "#2e8b57", "#e377c2", "#5f6b7a", "#a0522d", "#3d9dd9",
}

// ServiceColor is the colour of a service in every chart, page and report:
// a hash of its name picks it from ServicePalette, so it never depends on
// which other services a chart shows. Two services may share a colour; a
// chart that draws both dashes the second (Series.Dash, AssignColors).
func ServiceColor(name string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return ServicePalette[h.Sum32()%uint32(len(ServicePalette))]
}

// AssignColors gives every series without a colour its service's colour
// (ServiceColor of its name) and dashes each series whose colour an
// earlier one already uses, so lines that share a colour stay apart.
func AssignColors(series []Series) {
	used := map[string]bool{}
	for i := range series {
		s := &series[i]
		if s.Color == "" {
			s.Color = ServiceColor(s.Name)
		}
		if used[s.Color] {
			s.Dash = true
		}
		used[s.Color] = true
	}
}

// RiskColors colour change markers by the change's risk class; the top
// suspect is drawn red (Marker.Emphasis) whatever its risk.
var RiskColors = map[string]string{"critical": "#7b1fa2", "high": "#e65100", "medium": "#b8860b", "low": "#78909c"}

// RiskColor is the marker colour of a risk class ("" for an unknown one:
// the default grey).
func RiskColor(risk string) string { return RiskColors[risk] }
