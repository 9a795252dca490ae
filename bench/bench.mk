# bench/bench.mk: the benchmark targets (issue 6).  The Makefile includes
# this file; nothing here is part of `make test`.
#
#   make bench           build, generate the data (build/bench/data/, reused
#                        when unchanged), measure, print the table; ~3 minutes
#   make bench-profile   callgrind profile of a 20,000-event slice (after
#                        `make bench`); top functions by inclusive/self cost
#
# Settings go through the environment (see bench/run.sh), e.g.
#   make bench BENCH_REPS=5      (make passes command-line variables on)

.PHONY: bench bench-profile

bench: $(BIN) $(LIB)
	@if [ "$(SANITIZE)" = 1 ]; then \
	    echo "make bench measures the plain build: run it without SANITIZE=1" >&2; exit 2; fi
	BENCH_NO_MAKE=1 KGUARD=$(abspath $(BIN)) BENCH_LIB=$(LIB) CC='$(CC)' \
	    BENCH_LDLIBS='$(LDLIBS)' \
	    BENCH_KGUARD_CFLAGS='$(strip $(filter -O% -g% -m% -f% -flto% -D%NDEBUG,$(CFLAGS)))' \
	    bench/run.sh

bench-profile: $(BIN)
	@if [ "$(SANITIZE)" = 1 ]; then \
	    echo "make bench-profile profiles the plain build: run it without SANITIZE=1" >&2; exit 2; fi
	KGUARD=$(abspath $(BIN)) bench/profile.sh
