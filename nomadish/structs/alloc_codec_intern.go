package structs

import "unsafe"

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

// fieldView is the name of a field the decoder does not know, as a string
// sharing the decoder's bytes: the generated decoders pass it to the
// library, which skips the value or formats the name into an error at
// once, and keeps nothing. A copy would cost an allocation per skipped
// field, and a server decodes each client report from a whole
// allocation, most of whose fields it skips (AllocReportRequest).
func fieldView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// internStatus turns a decoded client or desired status into its
// constant, so the statuses of a million decoded allocations and reports
// are not a million small strings; an unknown status is copied.
func internStatus(b []byte) string {
	switch string(b) {
	case AllocClientStatusPending:
		return AllocClientStatusPending
	case AllocClientStatusRunning:
		return AllocClientStatusRunning
	case AllocClientStatusComplete:
		return AllocClientStatusComplete
	case AllocClientStatusFailed:
		return AllocClientStatusFailed
	case AllocClientStatusLost:
		return AllocClientStatusLost
	case AllocClientStatusUnknown:
		return AllocClientStatusUnknown
	case AllocDesiredStatusRun:
		return AllocDesiredStatusRun
	case AllocDesiredStatusStop:
		return AllocDesiredStatusStop
	case AllocDesiredStatusEvict:
		return AllocDesiredStatusEvict
	}
	return string(b)
}
