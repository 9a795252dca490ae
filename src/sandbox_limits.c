/*
 * sandbox_limits: bounds on the work one C call of the shared libraries can
 * do inside a rule (see sandbox.h).  The instruction hook cannot interrupt
 * a C function, so each function that loops in C is either replaced
 * (string.rep; the pattern functions in sandbox_pattern.c) or wrapped so that it
 * charges its work to the call's instruction budget before it starts
 * (sandbox_charge); LPeg is sandbox_lpeg.c's.  The tables are filled in
 * place, before the libraries are frozen.
 */
#include <string.h>
#include <lauxlib.h>
#include "sandbox.h"
#include "sandbox_int.h"

#define MAX_CHARGE (1L << 40) /* more than any budget */

/* ---- string.rep ------------------------------------------------------- */

/* string.rep(s, n [, sep]) building the result by doubling, within
 * KG_SANDBOX_MAX_STRING: no loop over n, whatever n is. */
static int limited_rep(lua_State *L)
{
    size_t l, lsep, total;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    luaL_Buffer b;
    char *out;
    size_t done;

    if (n <= 0 || (l == 0 && lsep == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    if ((lua_Unsigned)n > KG_SANDBOX_MAX_STRING ||
        (total = (l + lsep) * (size_t)n - lsep) > KG_SANDBOX_MAX_STRING)
        return luaL_error(L, "string.rep: result longer than %d MiB",
                          (int)(KG_SANDBOX_MAX_STRING >> 20));
    sandbox_charge(L, (long)(total >> 6));
    out = luaL_buffinitsize(L, &b, total);
    memcpy(out, s, l);
    if (n > 1)
        memcpy(out + l, sep, lsep);
    done = n > 1 ? l + lsep : l;
    while (done < total) {               /* copy what is there: doubles */
        size_t chunk = done < total - done ? done : total - done;
        memcpy(out + done, out, chunk);
        done += chunk;
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

/* ---- charged wrappers ------------------------------------------------- */

/* A cost function looks at the arguments (without changing the stack
 * below its own pushes) and returns the instructions to charge. */
typedef lua_Integer (*cost_fn)(lua_State *L);

static lua_Integer span(lua_Integer i, lua_Integer j)
{
    if (j < i)
        return 0;
    if (i < 0 && j > LUA_MAXINTEGER + i)
        return LUA_MAXINTEGER;
    return j - i + 1;
}

static lua_Integer len_of(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE ? luaL_len(L, idx) : 0;
}

static lua_Integer cost_concat(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer j = lua_isnoneornil(L, 4) ? len_of(L, 1) : luaL_checkinteger(L, 4);
    return span(i, j);
}

static lua_Integer cost_move(lua_State *L)
{
    return span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3));
}

static lua_Integer cost_unpack(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer j = lua_isnoneornil(L, 3) ? len_of(L, 1) : luaL_checkinteger(L, 3);
    return span(i, j);
}

static lua_Integer cost_sort(lua_State *L)
{
    lua_Integer n = len_of(L, 1), lg = 1;
    for (lua_Integer m = n; m > 1; m >>= 1)
        lg++;
    return n > LUA_MAXINTEGER / lg ? LUA_MAXINTEGER : n * lg;
}

static lua_Integer cost_length(lua_State *L)
{
    return len_of(L, 1);
}

/* Strings: one instruction per 64 bytes of the first argument. */
static lua_Integer cost_bytes(lua_State *L)
{
    size_t l = 0;
    if (lua_type(L, 1) == LUA_TSTRING)
        lua_tolstring(L, 1, &l);
    return (lua_Integer)(l >> 6);
}

/* string.format: each byte of the format may expand to a 99-wide field,
 * so the format is charged byte for byte. */
static lua_Integer cost_format(lua_State *L)
{
    size_t l = 0;
    if (lua_type(L, 1) == LUA_TSTRING)
        lua_tolstring(L, 1, &l);
    return (lua_Integer)l;
}

typedef struct charge_entry {
    const char *lib, *name;
    cost_fn cost;
} charge_entry;

static const charge_entry charges[] = {
    {"table", "concat", cost_concat}, {"table", "move", cost_move},
    {"table", "unpack", cost_unpack}, {"table", "sort", cost_sort},
    {"table", "insert", cost_length}, {"table", "remove", cost_length},
    {"string", "upper", cost_bytes}, {"string", "lower", cost_bytes},
    {"string", "reverse", cost_bytes}, {"string", "byte", cost_bytes},
    {"string", "format", cost_format},
    {"string", "pack", cost_bytes}, {"string", "unpack", cost_bytes},
    {"utf8", "len", cost_bytes}, {"utf8", "codepoint", cost_bytes},
    {"utf8", "offset", cost_bytes},
    {NULL, NULL, NULL}
};


/* upvalue 1: the library function, 2: its index in charges[]. */
static int charged(lua_State *L)
{
    cost_fn cost = charges[lua_tointeger(L, lua_upvalueindex(2))].cost;
    int top = lua_gettop(L);
    lua_Integer n = cost(L);
    lua_settop(L, top);
    sandbox_charge(L, n > MAX_CHARGE ? MAX_CHARGE : (long)n);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, top, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap_charged(lua_State *L, const charge_entry *c)
{
    lua_getglobal(L, c->lib);
    lua_getfield(L, -1, c->name);
    lua_pushinteger(L, c - charges);
    lua_pushcclosure(L, charged, 2);
    lua_setfield(L, -2, c->name);
    lua_pop(L, 1);
}

void sandbox_limits_open(lua_State *L)
{
    lua_getglobal(L, "string");
    lua_pushcfunction(L, limited_rep);
    lua_setfield(L, -2, "rep");
    sandbox_patterns_open(L, -1);
    lua_pop(L, 1);
    for (const charge_entry *c = charges; c->lib; c++)
        wrap_charged(L, c);
    sandbox_lpeg_open(L);
}
