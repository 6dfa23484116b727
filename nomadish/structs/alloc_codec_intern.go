package structs

// internMapKey turns a decoded map key into a string. The keys every
// allocation repeats (the score names of its placement metrics) come back
// as the constants, so that a server holding a million allocations does
// not hold a million copies of each; others are copied. The generated
// decoders call it (see the codecgen target of the GNUmakefile).
func internMapKey(b []byte) string {
	switch string(b) {
	case ScoreBinpack:
		return ScoreBinpack
	case ScoreJobAntiAffinity:
		return ScoreJobAntiAffinity
	case ScoreNodeAffinity:
		return ScoreNodeAffinity
	case ScoreAllocationSpread:
		return ScoreAllocationSpread
	}
	return string(b)
}
