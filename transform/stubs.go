package transform

func (s *state) notYet(v []byte, f Format) {
	s.dead(ReasonUnknownFormat, v, "format "+string(f)+" is not decoded yet")
}
func (s *state) cloudWatch(v []byte) { s.notYet(v, FormatCloudWatch) }
func (s *state) awsEvent(v []byte)   { s.notYet(v, FormatAWSEvents) }
func (s *state) app(v []byte)        { s.notYet(v, FormatApp) }
func (s *state) otlp(v []byte)       { s.notYet(v, FormatOTLP) }
