/*
 * luacheck: strict reading of declarative Lua tables (rule files, the
 * config file) into C, with every problem reported as file:line.  The line
 * is found by looking for the offending key in the file's text, since a
 * loaded table no longer knows where its fields were written.
 */
#ifndef KGUARD_LUACHECK_H
#define KGUARD_LUACHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <lua.h>

typedef struct lc_ctx {
    const char *path;          /* the file being checked */
    int errors;
    void (*error)(void *ud, const char *msg);
    void *ud;
} lc_ctx;

/* Report a problem; word (may be NULL) is looked up for the line number. */
void lc_error(lc_ctx *c, const char *word, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* t[key] as a new non-empty string (NULL when absent and not required).
 * `where` prefixes the key in messages ("match." or ""). */
int lc_string(lc_ctx *c, lua_State *L, int t, const char *where,
              const char *key, bool required, char **out);

/* t[key] as a boolean: *out is -1 when absent, else 0 or 1. */
int lc_bool(lc_ctx *c, lua_State *L, int t, const char *where, const char *key,
            int *out);

/* t[key] as a non-empty list of strings, each accepted by ok (NULL: any
 * non-empty string), into a new array of n strings. */
int lc_string_list(lc_ctx *c, lua_State *L, int t, const char *where,
                   const char *key, bool (*ok)(const char *), char ***out,
                   size_t *n);

/* Every key of t must be a string in allowed (NULL-terminated). */
int lc_check_keys(lc_ctx *c, lua_State *L, int t, const char *const *allowed,
                  const char *what);

void lc_free_strings(char **v, size_t n);

#endif
