// Package jobvalidate checks what nomadish/structs cannot check without the
// drivers: each task's config {} block against its driver's task config
// schema. The CLI (job validate, job run) calls it offline and the servers
// call it in Job.Register and Job.Validate, so a job with a bad config
// never reaches Raft.
package jobvalidate
