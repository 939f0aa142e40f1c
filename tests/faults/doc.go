// Package faults holds Gofka's fault-injection tests: they run the Go
// engine (core/) against a real 3-node Apache Kafka cluster and kill -9,
// restart, SIGSTOP/SIGCONT its nodes while clients work, then check that no
// record was lost, duplicated or reordered and that clients recovered by
// themselves.
//
// The tests carry the build tag "faults", so `go test ./...` does not
// build them; scripts/run-faults.sh starts the cluster (KAFKA_NODES=3),
// runs `go test -tags faults ./tests/faults` and the Python fault tests,
// and always stops the cluster. They need:
//
//	GOFKA_FAULT_BROKERS  the bootstrap list, node i at position i
//	GOFKA_KAFKA_SCRIPT   scripts/kafka.sh (with KAFKA_WORKDIR of the cluster)
//	GOFKA_FAULT_REPORT   optional: a file the tests append their figures to
//	                     (one JSON object per line)
//
// See docs/reliability.md for what each test checks and the figures.
package faults
