/*
 * Unit tests for lua_guard (protected reads of Lua-made tables) and the
 * sandbox's panic handler: an __index that raises or loops comes back as
 * an error message, and an error outside any protected call says what
 * happened before Lua aborts.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lauxlib.h>
#include "lua_guard.h"
#include "tap.h"

static int read_title(lua_State *L)
{
    lua_getfield(L, 2, "title");
    return 1;
}

/* Run chunk (which returns a table) and leave the table on the stack. */
static void push_table(kg_sandbox *sb, const char *chunk)
{
    lua_settop(sb->L, 0);
    if (luaL_loadstring(sb->L, chunk) != LUA_OK) {
        printf("# %s\n", lua_tostring(sb->L, -1));
        return;
    }
    sandbox_push_globals(sb);              /* the chunk's _ENV: the sandbox's globals */
    lua_setupvalue(sb->L, -2, 1);
    if (sandbox_pcall(sb, 0, 1) != LUA_OK)
        printf("# %s\n", lua_tostring(sb->L, -1));
}

static void guarded(kg_sandbox *sb)
{
    const char *msg;
    int rc;
    push_table(sb, "return {title = 'plain'}");
    ok(!lguard_has_meta(sb->L, 1), "a plain table has no metatable");
    ok(lguard_call(sb, read_title, NULL, 1, 1) == LUA_OK && strcmp(lua_tostring(sb->L, -1), "plain") == 0,
       "a plain table is read");

    push_table(sb, "return setmetatable({}, {__index = {title = 'inherited'}})");
    ok(lguard_has_meta(sb->L, 1), "a table with a metatable is seen");
    ok(lguard_call(sb, read_title, NULL, 1, 1) == LUA_OK &&
       strcmp(lua_tostring(sb->L, -1), "inherited") == 0, "fields from __index are read");

    push_table(sb, "return setmetatable({}, {__index = function() error('hostile index') end})");
    rc = lguard_call(sb, read_title, NULL, 1, 1);
    msg = lua_tostring(sb->L, -1);
    ok(rc != LUA_OK && msg && strstr(msg, "hostile index"), "an __index that raises is an error: %s", msg);

    push_table(sb, "return setmetatable({}, {__index = function() while true do end end})");
    rc = lguard_call(sb, read_title, NULL, 1, 1);
    msg = lua_tostring(sb->L, -1);
    ok(rc != LUA_OK && msg && strstr(msg, "instruction budget"), "an __index that loops hits the budget: %s", msg);

    push_table(sb, "return setmetatable({}, {__index = function() error({}) end})");
    rc = lguard_call(sb, read_title, NULL, 1, 1);
    msg = lua_type(sb->L, -1) == LUA_TSTRING ? lua_tostring(sb->L, -1) : NULL;
    ok(rc != LUA_OK && msg, "an error that is not a string comes back as one: %s", msg ? msg : "-");
}

/* In a child: read a hostile table outside any protected call. */
static void panics(kg_sandbox *sb)
{
    int fds[2], status = 0;
    char buf[512] = "";
    ssize_t n;
    pid_t pid;
    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        ok(0, "fork");
        return;
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        push_table(sb, "return setmetatable({}, {__index = function() error('unprotected') end})");
        lua_getfield(sb->L, 1, "title");   /* panics */
        _exit(0);
    }
    close(fds[1]);
    n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "an unprotected error still ends the process");
    ok(strstr(buf, "kguard: fatal: Lua error outside a protected call:") && strstr(buf, "unprotected"),
       "but says what happened first: %s", buf);
}

int main(void)
{
    char err[256];
    kg_sandbox *sb = sandbox_new("/nonexistent", 0, 100000, err, sizeof err);
    ok(sb != NULL, "a sandbox (%s)", sb ? "ok" : err);
    if (sb) {
        guarded(sb);
        panics(sb);
        sandbox_free(sb);
    }
    return done_testing();
}
