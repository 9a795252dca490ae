/*
 * sandbox: the rule state's allocator, budget hook, environments and
 * restricted require.  See sandbox.h for the contract.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include <lua-lpeg.h>
#include "freeze.h"
#include "lua_urlquery.h"
#include "sandbox.h"
#include "sandbox_int.h"
#include "util.h"

#define HOOK_EVERY 1000
#define SOURCE_MAX (16u << 20)   /* a rule or module file */
/* Past mem_limit an allocation still succeeds within this slack, and the
 * hook raises an ordinary error at the next instruction, so the message
 * names the rule's file:line; past the slack, allocation fails outright. */
#define MEM_SLACK (16u << 20)
#define LOADED_KEY "kguard.sandbox.loaded"
#define GLOBALS_KEY "kguard.sandbox.globals"
#define RE_PATH "/usr/share/lua/5.4/re.lua"

static void budget_hook(lua_State *L, lua_Debug *ar);

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    kg_sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    void *np;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    if (nsize > KG_SANDBOX_MAX_BLOCK && nsize > old)
        return NULL;                     /* Lua raises "not enough memory" */
    if (nsize > old && sb->mem_used - old + nsize > sb->mem_limit) {
        sb->exhausted = 1;
        if (sb->mem_used - old + nsize > sb->mem_limit + MEM_SLACK || !sb->L)
            return NULL; /* Lua raises "not enough memory" */
        if (!sb->over_memory) {
            sb->over_memory = 1;
            lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1); /* safe anywhere */
        }
    }
    np = realloc(ptr, nsize);
    if (np)
        sb->mem_used = sb->mem_used - old + nsize;
    return np;
}

kg_sandbox *sandbox_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* Push "FILE:LINE:" of the innermost Lua function running (C functions
 * such as a pattern matcher have no line), or "". */
static void where_lua(lua_State *L)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

static int raise_limit(lua_State *L, const char *what, long amount)
{
    where_lua(L);
    lua_pushfstring(L, "%s of %d exceeded", what, (int)amount);
    lua_concat(L, 2);
    return lua_error(L);
}

int sandbox_stopping(kg_sandbox *sb)
{
    return sb->exhausted || (sb->call && atomic_load(&sb->fired) == sb->call);
}

/* The watchdog's thread: the call is overdue.  lua_sethook may be called
 * from outside the running code (Lua's own interpreter does it from a
 * signal handler); the hook then raises at the next instruction. */
static void sandbox_fire(void *ud, unsigned long call)
{
    kg_sandbox *sb = ud;
    atomic_store(&sb->fired, call);
    lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1);
}

static void check_time(lua_State *L, kg_sandbox *sb)
{
    if (sb->call && atomic_load(&sb->fired) == sb->call) {
        sb->exhausted = 1;
        raise_limit(L, "time limit (ms)", sb->load_pending ? sb->load_time_limit_ms
                                                           : sb->time_limit_ms);
    }
}

void sandbox_charge(lua_State *L, long n)
{
    kg_sandbox *sb = sandbox_of(L);
    check_time(L, sb);
    sb->steps_left -= n;
    if (sb->steps_left <= 0) {
        sb->steps_left = HOOK_EVERY;
        sb->exhausted = 1;
        raise_limit(L, "instruction budget", sb->budget);
    }
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    kg_sandbox *sb = sandbox_of(L);
    (void)ar;
    if (sb->over_memory) {
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
        raise_limit(L, "memory limit (MiB)", (long)(sb->mem_limit >> 20));
    }
    check_time(L, sb);
    if (lua_gethookcount(L) == 1) {      /* a late watchdog fire for an earlier call */
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
        return;
    }
    sb->steps_left -= HOOK_EVERY;
    if (sb->steps_left <= 0) {
        sb->steps_left = HOOK_EVERY; /* room for the error handling */
        sb->exhausted = 1;
        raise_limit(L, "instruction budget", sb->budget);
    }
}

void sandbox_set_time_limit(kg_sandbox *sb, long ms)
{
    sb->time_limit_ms = ms > 0 ? ms : KG_SANDBOX_DEFAULT_TIME_MS;
}

int sandbox_pcall(kg_sandbox *sb, int nargs, int nresults)
{
    int rc, outer = sb->depth++ == 0, fired;
    if (outer) {
        sb->steps_left = sb->budget;
        sb->exhausted = 0;
        sb->call = watchdog_arm(sb->wd, sb->load_pending ? sb->load_time_limit_ms
                                                         : sb->time_limit_ms);
    }
    rc = lua_pcall(sb->L, nargs, nresults, 0);
    if (!outer) {
        sb->depth--;
        return rc;
    }
    watchdog_disarm(sb->wd);
    fired = atomic_load(&sb->fired) == sb->call;
    sb->depth--;
    sb->call = 0;
    sb->load_pending = 0;
    if (rc != LUA_OK && sb->exhausted) {
        lua_gc(sb->L, LUA_GCCOLLECT);   /* free what the runaway held */
        sb->over_memory = sb->mem_used > sb->mem_limit;
    }
    if (fired || (rc != LUA_OK && sb->exhausted))
        lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, sb->over_memory ? 1 : HOOK_EVERY);
    return rc;
}

/* pcall and xpcall for rules: as Lua's (rules get no coroutines, so no
 * yields to continue), except that running out of budget or memory is not
 * catchable: a rule cannot keep itself alive by catching what stops it. */
static int pcall_failed(lua_State *L)
{
    if (sandbox_stopping(sandbox_of(L)))
        return lua_error(L);          /* the message is on top */
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

static int safe_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK)
        return pcall_failed(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    return lua_gettop(L);
}

/* The message handler of a rule's xpcall.  Lua runs it where the error
 * happened, which for a budget, memory or time error is inside the hook,
 * with hooks off: so then the rule's handler is not run at all. */
static int guarded_handler(lua_State *L)
{
    if (sandbox_stopping(sandbox_of(L)))
        return 1;                     /* the message as it is */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int safe_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 1);              /* f, h, args..., f */
    lua_pushvalue(L, 2);              /* f, h, args..., f, h */
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 1);                /* g, h, args..., f */
    lua_replace(L, 2);                /* g, f, args... */
    if (lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 1) != LUA_OK)
        return pcall_failed(L);
    lua_pushboolean(L, 1);
    lua_replace(L, 1);                /* true, results... */
    return lua_gettop(L);
}

/* setmetatable for rules: a metatable with __gc is refused, because a
 * finalizer runs when the collector decides, outside any rule's budget. */
static int safe_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "finalizers (__gc) are not allowed in rules");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* Give the function on top of the stack a new _ENV of its own (its _G is
 * itself) whose reads fall through to the shared, read-only globals.  The
 * environment's metatable is protected, so the shared table behind it
 * cannot be reached. */
static void set_fresh_env(lua_State *L)
{
    lua_newtable(L);                         /* env */
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_newtable(L);                         /* its metatable */
    lua_getfield(L, LUA_REGISTRYINDEX, GLOBALS_KEY);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    if (!lua_setupvalue(L, -2, 1))           /* a main chunk's 1st upvalue is _ENV */
        lua_pop(L, 1);
}

int sandbox_loadfile(kg_sandbox *sb, const char *path, const char *chunkname)
{
    lua_State *L = sb->L;
    size_t len = 0;
    int err, rc;
    char *buf = util_read_file(path, SOURCE_MAX, &len, &err);

    if (!buf) {
        lua_pushfstring(L, "%s: cannot %s: %s", chunkname + (*chunkname == '@'),
                        err == ENOENT ? "open" : "read", strerror(err));
        return LUA_ERRFILE;
    }
    rc = luaL_loadbufferx(L, buf, len, chunkname, "t"); /* no bytecode */
    free(buf);
    if (rc == LUA_OK) {
        set_fresh_env(L);
        if (sb->depth == 0)
            sb->load_pending = 1;        /* the next sandbox_pcall runs it */
    }
    return rc;
}

static int valid_module_name(const char *name)
{
    if (!*name || *name == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        if (!(*p == '_' || *p == '.' || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
        if (p[0] == '.' && (p[1] == '.' || p[1] == '\0'))
            return 0;
    }
    return 1;
}

/* require(name): from the cache, else lualib/<name with dots as />.lua, else
 * LPeg's re module; nothing else. */
static int sandbox_require(lua_State *L)
{
    kg_sandbox *sb = sandbox_of(L);
    const char *name = luaL_checkstring(L, 1);
    luaL_Buffer path;

    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY);  /* 2 */
    if (lua_getfield(L, 2, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (!valid_module_name(name))
        return luaL_error(L, "module name '%s' is not allowed", name);
    luaL_buffinit(L, &path);
    luaL_addchar(&path, '@');
    luaL_addstring(&path, sb->lualib_dir);
    luaL_addchar(&path, '/');
    for (const char *p = name; *p; p++)
        luaL_addchar(&path, *p == '.' ? '/' : *p);
    luaL_addstring(&path, ".lua");
    luaL_pushresult(&path);                          /* 3: "@dir/name.lua" */
    if (sandbox_loadfile(sb, lua_tostring(L, 3) + 1, lua_tostring(L, 3)) != LUA_OK) {
        int missing = strstr(lua_tostring(L, -1), ": cannot open:") != NULL;
        if (missing && strcmp(name, "re") == 0) {
            lua_pop(L, 1);
            if (sandbox_loadfile(sb, RE_PATH, "@" RE_PATH) != LUA_OK)
                return lua_error(L);
        } else if (missing) {
            return luaL_error(L, "module '%s' not found in %s", name, sb->lualib_dir);
        } else {
            return lua_error(L);
        }
    }
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);                               /* module value */
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    } else if (lua_istable(L, -1)) {
        /* every requirer gets the same value: hand out a read-only one */
        lua_pushfstring(L, "module '%s'", name);
        freeze_push(L, -2, lua_tostring(L, -1), 1);
        lua_replace(L, -3);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

/* Base functions that are safe for rules; everything else is removed. */
static const char *const base_keep[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
    "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable",
    "tonumber", "tostring", "type", "xpcall", "_VERSION", NULL
};

static void open_safe_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {"_G", luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {"lpeg", luaopen_lpeg}, {NULL, NULL}
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
}

/* A fresh table of loaded modules: only the built-in ones (lpeg and
 * urlquery) are require-able until lualib modules are loaded into it. */
static void reset_loaded(lua_State *L)
{
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, GLOBALS_KEY);
    lua_getfield(L, -1, "lpeg");
    lua_setfield(L, -3, "lpeg");
    lua_pop(L, 1);
    luaopen_urlquery(L);
    freeze_push(L, -1, "module 'urlquery'", 1);     /* shared, so read-only */
    lua_replace(L, -2);
    lua_setfield(L, -2, "urlquery");
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
}

/* rawset for rules: as Lua's, except on the shared read-only tables. */
static int safe_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (freeze_is_proxy(L, 1))
        return luaL_error(L, "rawset: this table is shared by every rule and read-only");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* Protect a metatable shared by every value of a type (strings, LPeg
 * patterns): getmetatable gives a read-only proxy of it. */
static void protect_metatable(lua_State *L, const char *name)
{
    int mt = lua_gettop(L);
    freeze_push(L, mt, name, 1);
    lua_setfield(L, mt, "__metatable");
    lua_pop(L, 1);
}

/* Build the shared globals from the opened libraries: a table of the safe
 * base functions and read-only proxies of the libraries.  Rules never see
 * it directly (their environments read through to it), and the real
 * library tables are reachable only through proxies. */
static void build_globals(lua_State *L)
{
    static const char *const libs[] = {"string", "table", "math", "utf8", "lpeg", NULL};
    static const luaL_Reg wrapped[] = {
        {"require", sandbox_require}, {"pcall", safe_pcall}, {"xpcall", safe_xpcall},
        {"rawset", safe_rawset}, {NULL, NULL}
    };
    freeze_open(L);
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    sandbox_limits_open(L);            /* wraps library functions in place */

    lua_newtable(L);                                   /* G */
    for (const char *const *k = base_keep; *k; k++) {
        lua_getglobal(L, *k);
        lua_setfield(L, -2, *k);
    }
    for (const char *const *k = libs; *k; k++) {
        lua_getglobal(L, *k);
        freeze_push(L, -1, *k, 0);
        lua_setfield(L, -3, *k);
        lua_pop(L, 1);
    }
    luaL_setfuncs(L, wrapped, 0);
    lua_getfield(L, -1, "setmetatable");
    lua_pushcclosure(L, safe_setmetatable, 1);
    lua_setfield(L, -2, "setmetatable");
    lua_pushnil(L);
    lua_setfield(L, -2, "_G");                         /* each env is its own _G */
    lua_setfield(L, LUA_REGISTRYINDEX, GLOBALS_KEY);

    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    protect_metatable(L, "the string metatable");
    lua_pop(L, 1);
    luaL_getmetatable(L, "lpeg-pattern");
    if (lua_istable(L, -1))
        protect_metatable(L, "the LPeg pattern metatable");
    else
        lua_pop(L, 1);

    /* the real global table keeps nothing a chunk could reach */
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);

    reset_loaded(L);
}

static int init_state(lua_State *L)
{
    open_safe_libs(L);
    build_globals(L);
    return 0;
}

/* An error outside any protected call: Lua aborts the process after this
 * returns.  Say what happened instead of dying silently. */
static int sandbox_panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    fprintf(stderr, "kguard: fatal: Lua error outside a protected call: %s\n",
            msg ? msg : "(error object is not a string)");
    fflush(stderr);
    return 0;
}

kg_sandbox *sandbox_new(const char *lualib_dir, size_t mem_limit, long budget,
                        char *err, size_t errlen)
{
    kg_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb || !(sb->lualib_dir = strdup(lualib_dir)))
        goto oom;
    sb->mem_limit = mem_limit ? mem_limit : KG_SANDBOX_DEFAULT_MEM;
    sb->budget = budget > 0 ? budget : KG_SANDBOX_DEFAULT_BUDGET;
    sb->steps_left = sb->budget;
    sb->time_limit_ms = KG_SANDBOX_DEFAULT_TIME_MS;
    sb->load_time_limit_ms = KG_SANDBOX_LOAD_TIME_MS;
    atomic_init(&sb->fired, 0);
    sb->L = lua_newstate(sandbox_alloc, sb);
    if (!sb->L)
        goto oom;
    lua_atpanic(sb->L, sandbox_panic);
    if (!(sb->wd = watchdog_new(sandbox_fire, sb))) {
        snprintf(err, errlen, "cannot start the rule sandbox's watchdog thread");
        sandbox_free(sb);
        return NULL;
    }
    lua_pushcfunction(sb->L, init_state);
    if (lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot build the rule sandbox: %s",
                 lua_tostring(sb->L, -1));
        sandbox_free(sb);
        return NULL;
    }
    lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return sb;
oom:
    snprintf(err, errlen, "out of memory building the rule sandbox");
    sandbox_free(sb);
    return NULL;
}

void sandbox_push_globals(kg_sandbox *sb)
{
    lua_getfield(sb->L, LUA_REGISTRYINDEX, GLOBALS_KEY);
}

void sandbox_forget_modules(kg_sandbox *sb)
{
    reset_loaded(sb->L);
}

void sandbox_set_global(kg_sandbox *sb, const char *name)
{
    lua_State *L = sb->L;
    if (lua_istable(L, -1)) {
        freeze_push(L, -1, name, 1);
        lua_replace(L, -2);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, GLOBALS_KEY);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void sandbox_free(kg_sandbox *sb)
{
    if (!sb)
        return;
    watchdog_free(sb->wd);
    if (sb->L)
        lua_close(sb->L);
    free(sb->lualib_dir);
    free(sb);
}
