// Package scheduler turns an evaluation into a plan. It is pure: it reads a
// State snapshot, decides, and hands a Plan to its Planner. It starts no
// goroutines, does no I/O, and reads time only through the clock it is given.
//
// # Flow
//
// Service and batch jobs go through a reconciler (desired count against the
// allocations that exist: place missing names at the lowest free indexes,
// stop extras from the highest index, replace lost, migrating and changed
// allocations, reschedule failed ones per the group's reschedule policy)
// and then a placement stack. Replacements of groups with a sticky
// ephemeral disk try the old node first; rescheduled allocs avoid the
// nodes their predecessors failed on. System and sysbatch jobs place one alloc of
// each group on every feasible node through the same stack, one node at a
// time. A plan the leader commits only in part is recomputed against the
// newer snapshot, up to five attempts.
//
// # Deployments
//
// A service job's version rolls out under a deployment (created by the
// server with the version; the State offers it through the optional
// DeploymentState). While it runs, destructive updates of a group start
// at most max_parallel at a time, counting the deployment's allocations
// that are not yet healthy; a paused or failed deployment starts none.
// With canary = n, n allocations of the new version are placed beside the
// old ones, named after the first old allocations, and nothing is
// replaced until the deployment is promoted; a promoted canary then takes
// over the old allocation of its name. Placements and in-place updates
// join the deployment and have their health judged afresh.
//
// System jobs have no deployment: an evaluation starts at most
// max_parallel destructive updates per group and leaves a follow-up
// evaluation, due after the group's stagger, for the rest.
//
// # Placement stack
//
// A chain of small iterators (see newStack): source → drivers and
// constraints → distinct_hosts/distinct_property → resources and ports
// (fit score) → job anti-affinity → affinity → spread → combined score →
// limit → max score. Static feasibility is cached per node and per
// Node.ComputedClass; a node out of room for a group stays out for the rest
// of that group's placements, since usage only grows while a group places.
//
// The source walks the nodes in a shuffled order and continues where the
// last placement stopped. Under bin-packing it first offers the nodes the
// plan last placed on, so they fill before new ones open. The limit is
// max(2, ceil(log2 n)) candidates. With affinities or spread blocks the
// walk is interleaved by (affinity score, spread values) and the limit is 4
// nodes per combination, so every combination is compared without visiting
// every node (Nomad scores every node then). The walk passes over nodes a
// placement of the group already found full without sending them down the
// chain, so the last placements into a nearly full cluster cost about what
// the first did; when nothing fits, the select is repeated over every node
// so the failure's metrics count the full ones too. The single-node walks
// of system jobs and the preemption search see every node.
//
// # Scoring
//
// Each candidate gets up to four terms:
//
//	fit        in [0, 1]   bin-pack or spread fit of CPU and memory (always)
//	anti       in [-1, 0]  -(allocs of the group on the node)/count (count > 1),
//	                       minus 1 on the node a rescheduled alloc failed on
//	affinity   in [-1, 1]  sum of matching affinity weights / sum of |weights|
//	spread     in [-1, 1]  per block (desired - used)/desired for the node's
//	                       value, -1 for values with no share or nodes without
//	                       the attribute, weighted across blocks
//
// The final score is the sum of the terms divided by the number of term
// kinds configured for the group. The divisor is the same for every node,
// so a node that matches a positive affinity always scores higher than an
// otherwise equal node that does not. (Nomad divides by the number of terms
// present on each node, which lets a weak matching affinity pull a well
// packed node below one with no match.)
//
// Fit: with free fractions fc = 1 - cpuUsed/cpuTotal, fm = 1 - memUsed/memTotal
// after the placement, bin-pack scores (20 - (10^fc + 10^fm)) / 18 and spread
// scores (10^fc + 10^fm - 2) / 18, both clamped to [0, 1]. A full node scores
// 1 under bin-pack; an empty one 1 under spread.
//
// Spread targets: a value listed with percent p wants p% of the group's
// count; values not listed share what is left of 100%. Without targets
// every value seen on a candidate node wants an equal share.
//
// # Preemption
//
// When nothing fits and the job type may preempt (system by default, the
// others when SchedulerConfiguration.PreemptionConfig says so), the stack
// looks for the feasible node where evicting allocs of jobs at least 10
// priority below frees enough room, preferring the lowest evicted priority,
// then the fewest evictions. Evicted allocs go in Plan.NodeUpdate with
// DesiredStatus "evict", and each affected job gets a "preemption" eval.
package scheduler
