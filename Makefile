# Benchmarks (issue 5). The gates run in CI beside tests/; the full sizes take a while on 2 cores.
PYTHON ?= python
SIZES ?= 1M,10M
MEMORY_SIZES ?= 1M,10M,50M

.PHONY: bench-gates bench-full bench-render

bench-gates:  ## the CI performance gates (200k pod rows, ratios and flat RSS only)
	$(PYTHON) -m pytest benches/test_gates.py -q

bench-full:  ## timings at SIZES, peak RSS at MEMORY_SIZES; writes docs/benchmarks.md and docs/benchmarks.png
	$(PYTHON) benches/run_full.py --sizes $(SIZES) --memory-sizes $(MEMORY_SIZES)

bench-render:  ## re-render docs/benchmarks.md and the plot from the last results
	$(PYTHON) benches/run_full.py --render-only
