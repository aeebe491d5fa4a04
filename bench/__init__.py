"""Benchmarks, run with `make bench`: each measures GovDesk side by side with the peer a user
would otherwise pick and reports ratios (never timed unit tests)."""
