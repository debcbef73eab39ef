package rtqa

import (
	"fmt"
	"testing"
)

// intervalSet has n questions, each with one relevant article "r<i>".
func intervalSet(n int) *Set {
	s := &Set{}
	for i := range n {
		id := fmt.Sprint("q", i)
		s.Questions = append(s.Questions, Question{ID: id, Relevant: map[string]bool{"r" + id: true}})
	}
	return s
}

func TestRatioInterval(t *testing.T) {
	s := intervalSet(100)
	same := map[string][]string{}
	better, mixed := map[string][]string{}, map[string][]string{}
	for i, q := range s.Questions {
		same[q.ID] = []string{"x", "r" + q.ID} // rank 2 everywhere
		better[q.ID] = []string{"r" + q.ID}    // rank 1 everywhere
		if i%2 == 0 {
			mixed[q.ID] = []string{"r" + q.ID}
		} else {
			mixed[q.ID] = []string{"x", "x", "x", "x", "x", "x", "x", "x", "x", "x", "r" + q.ID} // rank 11: missed
		}
	}
	// Every question ranked alike: the ratio is exact, whatever the resample.
	if lo, hi := s.RatioInterval(better, same, 500); lo != 2 || hi != 2 {
		t.Errorf("uniform ratio: interval [%v, %v], want [2, 2]", lo, hi)
	}
	// Half the questions at rank 1 and half missed, against rank 2
	// everywhere: the ratio is 1 on the whole set, and a resample moves it.
	lo, hi := s.RatioInterval(mixed, same, 2000)
	if !(lo < 1 && 1 < hi) || lo < 0.7 || hi > 1.3 {
		t.Errorf("mixed ratio: interval [%v, %v], want it around 1 and within [0.7, 1.3]", lo, hi)
	}
	// The seed is fixed: the same rankings give the same interval.
	if lo2, hi2 := s.RatioInterval(mixed, same, 2000); lo2 != lo || hi2 != hi {
		t.Errorf("second run gave [%v, %v], first [%v, %v]", lo2, hi2, lo, hi)
	}
	// More questions, a narrower interval.
	big := intervalSet(400)
	bigMixed, bigSame := map[string][]string{}, map[string][]string{}
	for i, q := range big.Questions {
		bigSame[q.ID] = []string{"x", "r" + q.ID}
		if i%2 == 0 {
			bigMixed[q.ID] = []string{"r" + q.ID}
		} else {
			bigMixed[q.ID] = nil
		}
	}
	if blo, bhi := big.RatioInterval(bigMixed, bigSame, 2000); bhi-blo >= hi-lo {
		t.Errorf("400 questions: width %v, not narrower than 100 questions' %v", bhi-blo, hi-lo)
	}
	if lo, hi := intervalSet(0).RatioInterval(nil, nil, 100); lo != 0 || hi != 0 {
		t.Errorf("no questions: [%v, %v], want zeros", lo, hi)
	}
}
