// Leases and fencing through the queue API (heartbeats, expiry, LeaseLostError, recovery, two
// connections) are in the conformance suite: tests/conformance/leases.ts, run for every engine by
// tests/conformance_test.ts. Tests of the Worker's own lease handling belong in this file.
