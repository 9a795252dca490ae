/*
 * sandbox: a Lua state built up from safe pieces for running rules.
 *
 * The state has base functions without file or code loading, string (no
 * dump), table, math, utf8, lpeg, a `require` that loads text chunks only
 * from lualib/ (and LPeg's re module), and whatever the caller adds.  Every
 * chunk gets its own environment whose reads fall through to the shared
 * globals, so one rule cannot change another's globals.  All allocation goes
 * through a counting allocator with a hard limit, and calls made through
 * sandbox_pcall run under an instruction budget.
 */
#ifndef KGUARD_SANDBOX_H
#define KGUARD_SANDBOX_H

#include <stddef.h>
#include <lua.h>

typedef struct kg_sandbox {
    lua_State *L;
    size_t mem_used, mem_limit;
    long budget;      /* instructions per sandbox_pcall */
    long steps_left;
    int exhausted;    /* budget or memory ran out: pcall in Lua rethrows */
    int over_memory;  /* past mem_limit: the hook raises at the next instruction */
    char *lualib_dir;
} kg_sandbox;

#define KG_SANDBOX_DEFAULT_MEM    (256u << 20)
#define KG_SANDBOX_DEFAULT_BUDGET 1000000L

/* A new sandbox, or NULL with a message in err. */
kg_sandbox *sandbox_new(const char *lualib_dir, size_t mem_limit, long budget,
                        char *err, size_t errlen);
void sandbox_free(kg_sandbox *sb);

/* The sandbox that owns L. */
kg_sandbox *sandbox_of(lua_State *L);

/* Load a text chunk from path with a fresh environment table; pushes the
 * function, or returns non-zero with the error message pushed. */
int sandbox_loadfile(kg_sandbox *sb, const char *path, const char *chunkname);

/* lua_pcall under the instruction budget; on error the message (with
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
