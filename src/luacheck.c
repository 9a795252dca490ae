/*
 * luacheck: validating declarative Lua tables (see luacheck.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "luacheck.h"

/* Does line use word as a key ("word =", ["word"] =) or as a quoted
 * value ("word")? */
static bool as_token(const char *line, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(line, word); p; p = strstr(p + 1, word)) {
        const char *after = p + n;
        bool quoted = p > line && (p[-1] == '"' || p[-1] == '\'') &&
                      (*after == '"' || *after == '\'');
        bool bare = (p == line || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                                    (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'))) &&
                    strspn(after, " \t") < strlen(after) && after[strspn(after, " \t")] == '=';
        if (quoted || bare)
            return true;
    }
    return false;
}

/* The line of path that uses word as a key or quoted value, else the first
 * that mentions it (comments skipped); 0 if none. */
static int line_of(const char *path, const char *word)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, token = 0, mention = 0;
    if (!fp)
        return 0;
    while (getline(&line, &cap, fp) > 0 && !token) {
        const char *code = line + strspn(line, " \t");
        n++;
        if (code[0] == '-' && code[1] == '-')
            continue;
        if (as_token(line, word))
            token = n;
        else if (!mention && strstr(line, word))
            mention = n;
    }
    free(line);
    fclose(fp);
    return token ? token : mention;
}

void lc_error(lc_ctx *c, const char *word, const char *fmt, ...)
{
    char msg[512], full[1200];
    int line = word && *word ? line_of(c->path, word) : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(full, sizeof full, "%s:%d: %s", c->path, line, msg);
    else
        snprintf(full, sizeof full, "%s: %s", c->path, msg);
    c->errors++;
    c->error(c->ud, full);
}

int lc_string(lc_ctx *c, lua_State *L, int t, const char *where,
              const char *key, bool required, char **out)
{
    int ty = lua_getfield(L, t, key);
    int rc = 0;
    *out = NULL;
    if (ty == LUA_TNIL && !required) {
        /* absent */
    } else if (ty != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
        lc_error(c, key, "%s%s must be a non-empty string", where, key);
        rc = -1;
    } else if (!(*out = strdup(lua_tostring(L, -1)))) {
        lc_error(c, NULL, "out of memory");
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

int lc_bool(lc_ctx *c, lua_State *L, int t, const char *where, const char *key,
            int *out)
{
    int ty = lua_getfield(L, t, key);
    *out = ty == LUA_TBOOLEAN ? lua_toboolean(L, -1) : -1;
    lua_pop(L, 1);
    if (ty != LUA_TNIL && ty != LUA_TBOOLEAN) {
        lc_error(c, key, "%s%s must be true or false", where, key);
        return -1;
    }
    return 0;
}

int lc_string_list(lc_ctx *c, lua_State *L, int t, const char *where,
                   const char *key, bool (*ok)(const char *), char ***out,
                   size_t *n)
{
    lua_Integer len;
    *out = NULL;
    *n = 0;
    if (lua_getfield(L, t, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1) || (len = (lua_Integer)lua_rawlen(L, -1)) == 0) {
        lc_error(c, key, "%s%s must be a non-empty list of strings", where, key);
        lua_pop(L, 1);
        return -1;
    }
    if (!(*out = calloc((size_t)len, sizeof(char *)))) {
        lua_pop(L, 1);
        lc_error(c, NULL, "out of memory");
        return -1;
    }
    for (lua_Integer i = 1; i <= len; i++) {
        const char *s = NULL;
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING || !*(s = lua_tostring(L, -1)) ||
            (ok && !ok(s))) {
            lc_error(c, s && *s ? s : key, "%s%s[%lld] is not valid%s%s", where, key,
                     (long long)i, s ? ": " : "", s ? s : "");
            lua_pop(L, 2);
            return -1;
        }
        if (!((*out)[*n] = strdup(s))) {
            lua_pop(L, 2);
            lc_error(c, NULL, "out of memory");
            return -1;
        }
        (*n)++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

int lc_check_keys(lc_ctx *c, lua_State *L, int t, const char *const *allowed,
                  const char *what)
{
    int rc = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        bool known = false;
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *k = allowed; *k && !known; k++)
                known = strcmp(*k, lua_tostring(L, -1)) == 0;
        if (!known) {
            const char *name = luaL_tolstring(L, -1, NULL);
            lc_error(c, name, "unknown %s field '%s'", what, name);
            lua_pop(L, 1);
            rc = -1;
        }
    }
    return rc;
}

void lc_free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
