// Package jobspec parses HCL2 job files, as Nomad's jobspec2 does, into
// structs.Job.
//
// A file holds variable, variables and locals blocks and one job block.
// Input variables take values from defaults, NOMAD_VAR_<name> environment
// variables, -var-file files and -var arguments, in increasing precedence;
// an unset required variable is an error at its declaration. Expressions
// may call the functions in functions.go; filesystem functions are off
// unless ParseConfig.AllowFS is set. dynamic blocks are expanded with the
// hcl dynblock extension.
//
// References that are only known on the client at run time, such as
// ${node.unique.name}, ${attr.kernel.name}, ${meta.rack} or
// ${NOMAD_ALLOC_INDEX}, are kept verbatim (see runtime_refs.go). A task's
// config and other schema-less blocks become Go maps in Nomad's shape: a
// nested block, or an object attribute, is a list of objects (rawbody.go).
//
// Every error names file:line:col. Inputs are bounded: files over 1 MiB,
// brackets nested more than 256 deep, more than 2^17 iterations of for
// expressions and dynamic blocks, and function results over 8 MiB are all
// rejected with an error (limits.go).
package jobspec
