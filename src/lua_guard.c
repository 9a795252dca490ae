/*
 * lua_guard: protected calls for reading untrusted Lua tables (see
 * lua_guard.h).  An __index that raises or loops then becomes an ordinary
 * error naming the file, and never a Lua panic that aborts the engine.
 */
#include "lua_guard.h"

int lguard_call(kg_sandbox *sb, lua_CFunction f, void *ud, int idx, int nresults)
{
    lua_State *L = sb->L;
    int rc;
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, f);
    lua_pushlightuserdata(L, ud);
    lua_pushvalue(L, idx);
    rc = sandbox_pcall(sb, 2, nresults);
    if (rc != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushstring(L, "error object is not a string");
    }
    return rc;
}

int lguard_has_meta(lua_State *L, int idx)
{
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    lua_pop(L, 1);
    return 1;
}
