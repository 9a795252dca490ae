/*
 * lua_tojson: Lua values to cJSON (see lua_tojson.h).
 */
#include <stdbool.h>
#include <lauxlib.h>
#include "lua_tojson.h"

#define MAX_DEPTH 16
#define MAX_VALUES 4096

typedef struct conv {
    lua_State *L;
    int values;
    const char *why;
} conv;

static cJSON *value(conv *c, int idx, int depth);

/* 1..n with no other keys? */
static bool is_array(lua_State *L, int idx, lua_Integer *n)
{
    lua_Integer count = 0;
    *n = (lua_Integer)lua_rawlen(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (++count > MAX_VALUES) {   /* too large either way: stop counting */
            lua_pop(L, 1);
            return false;
        }
    }
    return *n > 0 && count == *n;
}

static cJSON *table(conv *c, int idx, int depth)
{
    lua_State *L = c->L;
    lua_Integer n;
    cJSON *out, *item;
    if (is_array(L, idx, &n)) {
        out = cJSON_CreateArray();
        for (lua_Integer i = 1; out && i <= n; i++) {
            lua_rawgeti(L, idx, i);
            item = value(c, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            if (!item)
                goto fail;
            cJSON_AddItemToArray(out, item);
        }
        return out;
    }
    out = cJSON_CreateObject();
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            c->why = "a detection table has a key that is not a string";
            lua_pop(L, 2);
            goto fail;
        }
        item = value(c, lua_gettop(L), depth + 1);
        if (!item) {
            lua_pop(L, 2);
            goto fail;
        }
        cJSON_AddItemToObject(out, lua_tostring(L, -2), item);
        lua_pop(L, 1);
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *value(conv *c, int idx, int depth)
{
    lua_State *L = c->L;
    if (++c->values > MAX_VALUES || depth > MAX_DEPTH) {
        c->why = "a detection table is too large or too deep";
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return cJSON_CreateNumber(lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx)
                                                        : lua_tonumber(L, idx));
    case LUA_TTABLE:
        if (!lua_checkstack(L, 4)) {
            c->why = "a detection table is too deep";
            return NULL;
        }
        return table(c, idx, depth);
    default:
        c->why = "a detection table holds a value that is not JSON";
        return NULL;
    }
}

cJSON *lua_tojson(lua_State *L, int idx, const char **why)
{
    conv c = {L, 0, "out of memory"};
    cJSON *out = value(&c, lua_absindex(L, idx), 0);
    if (!out)
        *why = c.why;
    return out;
}
