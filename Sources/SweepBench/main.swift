// The sampler benchmark executable (issue 3) lands here.
print("sweep-bench: no benchmarks yet")
