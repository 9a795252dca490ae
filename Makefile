# kguard build.  `make` builds ./kguard; `make test` runs every test under
# prove; `make test SANITIZE=1` does the same against an ASan+UBSan build
# kept in build/asan/ (the plain build lives in build/plain/); `make tsan`
# runs the tests of --threads against a ThreadSanitizer build (build/tsan/).

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/kguard
DESTDIR ?=
WERROR  ?= 0
SANITIZE ?= 0

PKGS    := lua5.4 libcjson libmicrohttpd gnutls libcurl libnats
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic -D_DEFAULT_SOURCE -D_GNU_SOURCE \
           -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS)) \
           -DKGUARD_DATADIR='"$(DATADIR)"'
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -llua5.4-lpeg -lcidr -lxxhash -lz -lpthread -lm -ldl

ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif

ifeq ($(SANITIZE),1)
VARIANT := asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BIN     := build/asan/kguard
else ifeq ($(SANITIZE),thread)
VARIANT := tsan
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
BIN     := build/tsan/kguard
else
VARIANT := plain
BIN     := kguard
endif

OBJDIR  := build/$(VARIANT)
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(OBJDIR)/%.o)
LIB     := $(OBJDIR)/libkguard.a
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OBJDIR)/tests/%)
# Runs tests/lua/*_test.lua inside the real rule sandbox (tests/lualib.t).
LUA_RUNNER := $(OBJDIR)/tests/lua-runner

.PHONY: all test unit check-includes clean install uninstall tsan
all: $(BIN)

# -MMD -MP: each object (and unit binary) gets a .d file of the headers it
# includes, read back below, so a changed header rebuilds what uses it (and
# a changed Makefile rebuilds everything: flags, or objects from before .d).
DEPFLAGS := -MMD -MP

$(OBJDIR)/%.o: src/%.c Makefile | $(OBJDIR)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(OBJDIR)/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJDIR)/tests/%: tests/unit/%.c $(LIB) Makefile | $(OBJDIR)/tests
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(LUA_RUNNER): tests/lua/runner.c $(LIB) | $(OBJDIR)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(OBJDIR) $(OBJDIR)/tests:
	mkdir -p $@

unit: $(UNIT_BIN) $(LUA_RUNNER)

# No module may include one that depends on it (tools/include-graph; the
# graph's cycles are reported with the includes that make them).
check-includes:
	tools/include-graph .

-include $(LIB_OBJ:.o=.d) $(OBJDIR)/main.d $(UNIT_BIN:=.d)

# Unit binaries and the end-to-end scripts (Perl, Test::More) under one prove.
test: check-includes $(BIN) $(UNIT_BIN) $(LUA_RUNNER)
	KGUARD=$(abspath $(BIN)) KGUARD_ROOT=$(CURDIR) KGUARD_LUA_RUNNER=$(abspath $(LUA_RUNNER)) prove $(PROVE_FLAGS) $(UNIT_BIN) tests/*.t

# The --threads pipeline under ThreadSanitizer (build/tsan/): the tests that
# run scans with workers; any report fails the run.
TSAN_TESTS ?= tests/threads.t tests/prescan.t tests/input.t tests/run.t
tsan:
	$(MAKE) SANITIZE=thread build/tsan/kguard
	KGUARD=$(abspath build/tsan/kguard) KGUARD_ROOT=$(CURDIR) \
	    TSAN_OPTIONS='halt_on_error=1 exitcode=66' prove $(PROVE_FLAGS) $(TSAN_TESTS)

clean:
	rm -rf build kguard

# The binary, and beside the data directory the rules, the Lua library and
# the examples; an installed kguard finds rules.d and lualib there.
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/rules.d $(DESTDIR)$(DATADIR)/lualib
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/kguard
	install -m 0644 rules.d/*.lua rules.d/README.md $(DESTDIR)$(DATADIR)/rules.d/
	install -m 0644 lualib/*.lua $(DESTDIR)$(DATADIR)/lualib/
	cp -R examples $(DESTDIR)$(DATADIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)/examples

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kguard
	rm -rf $(DESTDIR)$(DATADIR)

include bench/bench.mk

include tests/fuzz/fuzz.mk
