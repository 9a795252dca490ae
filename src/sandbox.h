/*
 * sandbox: a Lua state built up from safe pieces for running rules.
 *
 * The state has base functions without file or code loading, string (no
 * dump), table, math, utf8, lpeg, a `require` that loads text chunks only
 * from lualib/ (and LPeg's re module), and whatever the caller adds.  Every
 * chunk gets its own environment whose reads fall through to the shared
 * globals, so one rule cannot change another's globals.  All allocation goes
 * through a counting allocator with a hard limit, and calls made through
 * sandbox_pcall run under an instruction budget and a time limit.
 *
 * The shared libraries, the kguard table and lualib modules are read-only
 * proxies (freeze.h), and the string and LPeg pattern metatables are
 * protected, so no rule can change what another sees.  Library functions
 * whose one C call could run unbounded are bounded (sandbox_limits.c,
 * sandbox_pattern.c): they charge their work to the budget, and a watchdog thread
 * (watchdog.h) stops a call that runs past its time limit, even inside C.
 */
#ifndef KGUARD_SANDBOX_H
#define KGUARD_SANDBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <lua.h>
#include "watchdog.h"

typedef struct kg_sandbox {
    lua_State *L;
    size_t mem_used, mem_limit;
    long budget;      /* instructions per sandbox_pcall */
    long steps_left;
    int exhausted;    /* budget or memory ran out: pcall in Lua rethrows */
    int over_memory;  /* past mem_limit: the hook raises at the next instruction */
    char *lualib_dir;
    kg_watchdog *wd;
    long time_limit_ms;        /* per sandbox_pcall */
    long load_time_limit_ms;   /* for a chunk just loaded by sandbox_loadfile */
    int load_pending;          /* the next sandbox_pcall runs a loaded chunk */
    int depth;                 /* sandbox_pcall nesting */
    unsigned long call;        /* the watched call, 0: none */
    _Atomic unsigned long fired;  /* set by the watchdog: that call is overdue */
} kg_sandbox;

#define KG_SANDBOX_DEFAULT_MEM    (256u << 20)
#define KG_SANDBOX_DEFAULT_BUDGET 1000000L
#define KG_SANDBOX_DEFAULT_TIME_MS 50L
#define KG_SANDBOX_LOAD_TIME_MS   5000L
/* No single string a library function builds may be longer, and no single
 * allocation of the state larger than KG_SANDBOX_MAX_BLOCK. */
#define KG_SANDBOX_MAX_STRING     (4u << 20)
#define KG_SANDBOX_MAX_BLOCK      (64u << 20)

/* A new sandbox, or NULL with a message in err. */
kg_sandbox *sandbox_new(const char *lualib_dir, size_t mem_limit, long budget,
                        char *err, size_t errlen);
void sandbox_free(kg_sandbox *sb);

/* The sandbox that owns L. */
kg_sandbox *sandbox_of(lua_State *L);

/* Load a text chunk from path with a fresh environment table; pushes the
 * function, or returns non-zero with the error message pushed. */
int sandbox_loadfile(kg_sandbox *sb, const char *path, const char *chunkname);

/* The time limit of each later sandbox_pcall (ms; 0: the default). */
void sandbox_set_time_limit(kg_sandbox *sb, long ms);

/* Charge n instructions of work done in C to the running call: raises the
 * budget error when it is spent, or the time-limit error when the watchdog
 * has stopped the call.  For library functions that loop in C. */
void sandbox_charge(lua_State *L, long n);

/* Whether the running call has been stopped (budget, memory or time):
 * nothing in Lua may catch that or run a message handler for it. */
int sandbox_stopping(kg_sandbox *sb);

/* lua_pcall under the instruction budget and the time limit; on error the message (with
 * file:line where Lua knows it) is on the stack. */
int sandbox_pcall(kg_sandbox *sb, int nargs, int nresults);

/* Push the shared globals table (read-only by convention). */
void sandbox_push_globals(kg_sandbox *sb);

/* Forget the modules required so far (lpeg stays): the next require of
 * each loads it afresh.  For tests that load modules in several setups. */
void sandbox_forget_modules(kg_sandbox *sb);

/* Pop the value on top of the stack into the shared globals as name. */
void sandbox_set_global(kg_sandbox *sb, const char *name);

#endif
