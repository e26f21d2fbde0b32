package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// rnd wraps a seeded PCG generator with the draws the simulator needs. Two
// independent streams are used per scenario (plan and emission) so that
// changing the volume of background events never moves the planted incident.
type rnd struct{ *rand.Rand }

func newRnd(seed int64, stream uint64) *rnd {
	return &rnd{rand.New(rand.NewPCG(uint64(seed), 0x9E3779B97F4A7C15^stream))}
}

func (r *rnd) uniform(a, b float64) float64 { return a + (b-a)*r.Float64() }

func (r *rnd) dur(a, b time.Duration) time.Duration {
	if b <= a {
		return a
	}
	return a + time.Duration(r.Int64N(int64(b-a)))
}

func (r *rnd) chance(p float64) bool { return r.Float64() < p }

func pick[T any](r *rnd, xs []T) T { return xs[r.IntN(len(xs))] }

// poisson draws a Poisson count with mean lambda (normal approximation
// above 30).
func (r *rnd) poisson(lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		n := math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64())
		if n < 0 {
			return 0
		}
		return int(n)
	}
	l := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// uuid returns a random (version 4 style) UUID string.
func (r *rnd) uuid() string {
	a, b := r.Uint64(), r.Uint64()
	a = a&^0xF000 | 0x4000     // version 4
	b = b&^(0xC<<60) | 0x8<<60 // variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xFFFF, a&0xFFFF, b>>48, b&0xFFFFFFFFFFFF)
}

const hexDigits = "0123456789abcdef"

func (r *rnd) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (r *rnd) upper(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = upperAlnum[r.IntN(len(upperAlnum))]
	}
	return string(b)
}

// logEventID returns a 56-digit CloudWatch Logs event id.
func (r *rnd) logEventID() string {
	return fmt.Sprintf("%019d%019d%018d", r.Uint64N(1e19), r.Uint64N(1e19), r.Uint64N(1e18))
}

func (r *rnd) ipv4() string {
	return fmt.Sprintf("%d.%d.%d.%d", pick(r, []int{3, 18, 34, 52, 54, 81, 198}), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

func (r *rnd) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(254))
}
