"""`make bench`: the order pipeline measured on this machine (see docs/benchmarks.md)."""
