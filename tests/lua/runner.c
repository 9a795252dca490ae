/*
 * lua-runner: runs one Lua helper test (a tests/lua/NAME_test.lua) inside the
 * real rule sandbox, so lualib/ modules and rule files are loaded by the
 * engine's own require, environments, kguard module, state tables and
 * event views, not by an emulation of them.
 *
 *   lua-runner LUALIB_DIR TEST_FILE
 *
 * The test file itself runs with the standard base, io, os and string
 * libraries (it writes TAP, lists files, loads fixtures) plus `harness`,
 * the C entry points that tests/lua/lib/harness.lua builds on:
 *   harness.globals()         the sandbox's shared globals (what rules see)
 *   harness.loadfile(path)    a chunk loaded as a rule file is (fresh env)
 *   harness.forget_modules()  the next require loads modules afresh
 *   harness.event(json)       a real event from an audit Event's JSON,
 *                             extracted and resolved as the engine does;
 *                             views of the previous one stop working
 * Exit status: 0 when the file ran to its end (TAP says what passed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>
#include <lualib.h>
#include "kguard/event.h"
#include "kguard/lists.h"
#include "kguard/state.h"
#include "kguard/workload.h"
#include "lua_event.h"
#include "lua_kguard.h"
#include "sandbox.h"

static kg_sandbox *sb;
static cJSON *event_root;
static kg_event event;

static void drop_event(void)
{
    lua_event_set(sb->L, NULL);
    event_release(&event);
    cJSON_Delete(event_root);
    event_root = NULL;
}

static int h_event(lua_State *L)
{
    const char *json = luaL_checkstring(L, 1);
    char err[256];
    drop_event();
    if (!(event_root = cJSON_Parse(json)))
        return luaL_error(L, "harness.event: not JSON: %s", json);
    event.src_file = "harness";
    event.src_line = 1;
    if (event_extract(&event, event_root, err, sizeof err) < 0)
        return luaL_error(L, "harness.event: %s", err);
    workload_resolve(&event);
    lua_event_set(L, &event);
    lua_event_push(L);
    return 1;
}

static int h_globals(lua_State *L)
{
    sandbox_push_globals(sandbox_of(L));
    return 1;
}

static int h_loadfile(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_pushfstring(L, "@%s", path);
    if (sandbox_loadfile(sandbox_of(L), path, lua_tostring(L, -1)) != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

static int h_forget_modules(lua_State *L)
{
    sandbox_forget_modules(sandbox_of(L));
    return 0;
}

/* Give the real global table (which no sandboxed chunk can reach) what a
 * test script needs, and the harness. */
static void open_test_globals(lua_State *L, const char *file)
{
    static const luaL_Reg harness[] = {
        {"event", h_event}, {"globals", h_globals}, {"loadfile", h_loadfile},
        {"forget_modules", h_forget_modules}, {NULL, NULL}
    };
    lua_pushcfunction(L, luaopen_base);      /* the sandbox cached "_G" already */
    lua_call(L, 0, 0);
    luaL_requiref(L, LUA_IOLIBNAME, luaopen_io, 1);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
    lua_pop(L, 2);
    sandbox_push_globals(sb);
    for (const char *const *k = (const char *const[]){"string", "table", "math", "utf8", NULL}; *k; k++) {
        lua_getfield(L, -1, *k);
        lua_setglobal(L, *k);
    }
    lua_pop(L, 1);
    luaL_newlib(L, harness);
    lua_setglobal(L, "harness");
    lua_createtable(L, 1, 0);
    lua_pushstring(L, file);
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
}

int main(int argc, char **argv)
{
    static const kg_lists no_lists;
    char err[512];
    kg_state *state = NULL;
    int rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: lua-runner LUALIB_DIR TEST_FILE\n");
        return 2;
    }
    /* the test runs as one call: a budget no test reaches */
    if (!(sb = sandbox_new(argv[1], 0, 1L << 40, err, sizeof err)) || !(state = state_new())) {
        fprintf(stderr, "lua-runner: %s\n", sb ? "out of memory" : err);
        goto cleanup;
    }
    lua_kguard_open(sb, &no_lists, state);
    lua_event_open(sb->L);
    open_test_globals(sb->L, argv[2]);
    if (luaL_loadfilex(sb->L, argv[2], "t") != LUA_OK || lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
        printf("# %s\n", lua_tostring(sb->L, -1));
        printf("Bail out! %s did not run to its end\n", argv[2]);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (sb)
        drop_event();
    sandbox_free(sb);
    state_free(state);
    return rc;
}
