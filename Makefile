# kguard build.  `make` builds ./kguard; `make test` runs every test under
# prove; `make test SANITIZE=1` does the same against an ASan+UBSan build
# kept in build/asan/ (the plain build lives in build/plain/).

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/kguard
DESTDIR ?=
WERROR  ?= 0
SANITIZE ?= 0

PKGS    := lua5.4 libcjson libmicrohttpd gnutls
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic -D_DEFAULT_SOURCE -D_GNU_SOURCE \
           -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS)) \
           -DKGUARD_DATADIR='"$(DATADIR)"'
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -llua5.4-lpeg -lcidr -lxxhash -lpthread -lm -ldl

ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif

ifeq ($(SANITIZE),1)
VARIANT := asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BIN     := build/asan/kguard
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

.PHONY: all test unit check-includes clean install uninstall
all: $(BIN)

$(OBJDIR)/%.o: src/%.c $(wildcard include/kguard/*.h src/*.h) | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(OBJDIR)/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJDIR)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIB) | $(OBJDIR)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(LUA_RUNNER): tests/lua/runner.c $(LIB) | $(OBJDIR)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(OBJDIR) $(OBJDIR)/tests:
	mkdir -p $@

unit: $(UNIT_BIN) $(LUA_RUNNER)

# No module may include one that depends on it (tools/include-graph; the
# graph's cycles are reported with the includes that make them).
# INCLUDE_CYCLES_KNOWN lists cycles being broken on another branch, as
# "--allow A,B"; the severity module (arch-config) ends finding <-> rules.
INCLUDE_CYCLES_KNOWN ?= --allow finding,rules
check-includes:
	tools/include-graph $(INCLUDE_CYCLES_KNOWN) .

# Unit binaries and the end-to-end scripts (Perl, Test::More) under one prove.
test: check-includes $(BIN) $(UNIT_BIN) $(LUA_RUNNER)
	KGUARD=$(abspath $(BIN)) KGUARD_ROOT=$(CURDIR) KGUARD_LUA_RUNNER=$(abspath $(LUA_RUNNER)) prove $(PROVE_FLAGS) $(UNIT_BIN) tests/*.t

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
