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
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -llua5.4-lpeg -lcidr -lxxhash -lz -lpthread -lm -ldl

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

.PHONY: all test unit clean install uninstall
all: $(BIN)

$(OBJDIR)/%.o: src/%.c $(wildcard include/kguard/*.h src/*.h) | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(OBJDIR)/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJDIR)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIB) | $(OBJDIR)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(OBJDIR) $(OBJDIR)/tests:
	mkdir -p $@

unit: $(UNIT_BIN)

# Unit binaries and the end-to-end scripts (Perl, Test::More) under one prove.
test: $(BIN) $(UNIT_BIN)
	KGUARD=$(abspath $(BIN)) KGUARD_ROOT=$(CURDIR) prove $(PROVE_FLAGS) $(UNIT_BIN) tests/*.t

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
