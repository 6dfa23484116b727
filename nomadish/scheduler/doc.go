// Package scheduler turns an evaluation into a plan. It is pure: it reads a
// State snapshot, decides, and hands a Plan to its Planner. It starts no
// goroutines, does no I/O, and reads time only through the clock it is given.
//
// Service and batch jobs go through a reconciler (desired count against the
// allocations that exist) and then a placement stack: a chain of small
// iterators, feasibility checkers first, then rankers, then a limit and a
// max-score pick. System and sysbatch jobs place one allocation per feasible
// node through the same stack, one node at a time.
//
// Scoring. Each candidate gets up to four terms:
//
//	fit        in [0, 1]   bin-pack or spread fit of CPU and memory (always)
//	anti       in [-1, 0]  -collisions/count for allocs of the same group on the node (count > 1)
//	affinity   in [-1, 1]  sum of matching affinity weights / sum of |weights| (if affinities)
//	spread     in [-1, 1]  weighted spread boost (if spread blocks)
//
// The final score is the sum of the terms divided by the number of term
// kinds configured for the group. The divisor is the same for every node, so
// a node that matches a positive affinity always scores higher than an
// otherwise equal node that does not. (Nomad divides by the number of terms
// present on each node, which lets a weak matching affinity pull a well
// packed node below one with no match.)
//
// Fit: with free fractions fc = 1 - cpuUsed/cpuTotal, fm = 1 - memUsed/memTotal
// after the placement, bin-pack scores (20 - (10^fc + 10^fm)) / 18 and spread
// scores (10^fc + 10^fm - 2) / 18, both clamped to [0, 1]. A full node scores
// 1 under bin-pack; an empty one 1 under spread.
package scheduler
