package rtqa

import (
	"math/rand/v2"
	"sort"
)

// reciprocalRanks returns each question's reciprocal rank at 10 in ranked
// (0 when no relevant article is in the top 10), in question order.
func (s *Set) reciprocalRanks(ranked map[string][]string) []float64 {
	out := make([]float64, len(s.Questions))
	for i, q := range s.Questions {
		if r := firstRelevant(q, ranked[q.ID]); r > 0 && r <= 10 {
			out[i] = 1 / float64(r)
		}
	}
	return out
}

// RatioInterval is a 95% interval for MRR@10 of ranked over MRR@10 of ref,
// by the paired bootstrap over questions: resample the questions with
// replacement, keep each question's two reciprocal ranks together, and
// take the 2.5th and 97.5th percentiles of the ratio. It says how far a
// ratio measured on this many questions can be trusted: on a hundred
// questions, a few hundredths either way is noise. The seed is fixed, so
// the same rankings always give the same interval.
func (s *Set) RatioInterval(ranked, ref map[string][]string, resamples int) (lo, hi float64) {
	a, b := s.reciprocalRanks(ranked), s.reciprocalRanks(ref)
	n := len(a)
	if n == 0 || resamples <= 0 {
		return 0, 0
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ratios := make([]float64, 0, resamples)
	for range resamples {
		var sa, sb float64
		for range n {
			i := rng.IntN(n)
			sa += a[i]
			sb += b[i]
		}
		if sb > 0 {
			ratios = append(ratios, sa/sb)
		}
	}
	if len(ratios) == 0 {
		return 0, 0
	}
	sort.Float64s(ratios)
	at := func(p float64) float64 { return ratios[int(p*float64(len(ratios)-1))] }
	return at(0.025), at(0.975)
}
