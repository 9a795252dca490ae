# tests/fuzz/fuzz.mk: the libFuzzer targets (issue 10).  The Makefile
# includes this file; nothing here is part of `make test`.
#
#   make fuzz          build the targets with Debian's clang (libFuzzer,
#                      ASan, UBSan) in build/fuzz/, lay out each target's
#                      corpus (tests/fuzz/seeds/ and, at run time, records
#                      cut from ../shared/corpus), replay it, then fuzz every
#                      target for its share of FUZZ_SECONDS (default 60 in
#                      all); a crash, leak, UB report or timeout fails
#   make fuzz-smoke    the same, for CI: FUZZ_SECONDS=60
#   make fuzz-build    only build
#
# Inputs that crash are kept in build/fuzz/artifacts/; replay one with
#   build/fuzz/fuzz_TARGET build/fuzz/artifacts/crash-...

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_TARGETS := input event patch lists state prescan listcache
FUZZ_CFLAGS  := -O1 -g -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -D_GNU_SOURCE \
                -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS)) \
                -DKGUARD_DATADIR='"$(DATADIR)"' -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(LIB_SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-smoke fuzz-build

$(FUZZ_DIR)/obj/%.o: src/%.c Makefile tests/fuzz/fuzz.mk | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libkguard.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_DIR)/libkguard.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer $< $(FUZZ_DIR)/libkguard.a $(LDLIBS) -o $@

$(FUZZ_DIR)/obj:
	mkdir -p $@

-include $(FUZZ_OBJ:.o=.d)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=60 tests/fuzz/run $(FUZZ_TARGETS)
