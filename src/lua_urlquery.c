/*
 * lua_urlquery: the query-string decoding of urlquery.c for Lua (see
 * lua_urlquery.h).
 */
#include <string.h>
#include <lauxlib.h>
#include "kguard/urlquery.h"
#include "lua_urlquery.h"

/* Push the decoded s[0..n). */
static void push_decoded(lua_State *L, const char *s, size_t n)
{
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, n ? n : 1);
    luaL_pushresultsize(&b, urlquery_decode(s, n, out));
}

void lua_urlquery_push_values(lua_State *L, const char *uri, const char *name, size_t nlen)
{
    const char *cur = urlquery_of(uri);
    kg_qparam p;
    lua_Integer i = 1;
    lua_newtable(L);
    while (urlquery_next(&cur, &p)) {
        size_t klen;
        const char *key;
        push_decoded(L, p.key, p.key_len);
        key = lua_tolstring(L, -1, &klen);
        if (klen == nlen && memcmp(key, name, nlen) == 0) {
            push_decoded(L, p.val, p.val_len);
            lua_rawseti(L, -3, i++);
        }
        lua_pop(L, 1);
    }
}

/* urlquery.values(uri, name): uri not a string gives an empty list. */
static int values(lua_State *L)
{
    size_t nlen;
    const char *uri = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    const char *name = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &nlen) : NULL;
    if (!name) {
        lua_newtable(L);
        return 1;
    }
    lua_urlquery_push_values(L, uri, name, nlen);
    return 1;
}

int luaopen_urlquery(lua_State *L)
{
    static const luaL_Reg fns[] = {{"values", values}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
