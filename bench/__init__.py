"""Load benchmarks of the shop and of baselines written to the same contract (`make bench`)."""
