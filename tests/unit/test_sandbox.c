/* Unit tests for the sandbox's bounded library functions: the pattern
 * functions (sandbox_pattern.c) against Lua's own on many cases, string.rep, and
 * the budget and time limit stopping work done inside one C call. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sandbox.h"
#include "tap.h"

/* Compares ours (the sandbox's string table) with stock (Lua's) on each
 * case; returns a list of the cases that differ. */
static const char DIFF_LUA[] =
    "local stock, ours = ...\n"
    "local function pack(ok, ...)\n"
    "  local t = table.pack(...)\n"
    "  if not ok then return 'error: ' .. tostring((t[1]):gsub('^[^:]*:%d+: ', '')) end\n"
    "  for i = 1, t.n do t[i] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
    "  return table.concat(t, ',', 1, t.n)\n"
    "end\n"
    "local function gm(lib, s, p, init)\n"
    "  local out = {}\n"
    "  for a, b in lib.gmatch(s, p, init) do out[#out + 1] = tostring(a) .. '|' .. tostring(b) end\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "local subjects = { '', 'hello world', '  key = value  ', 'THE (quick) fox', 'a,b,,c',\n"
    "  'x = [[nested [brackets] ]]', 'f(a(b)c)d', 'aaa', 'abc123def', '/api/v1/namespaces/kube-system/pods/x/exec?command=sh',\n"
    "  'caf\\195\\169 \\0zero', 'THE (quick) fox jumps over the lazy dog' }\n"
    "local patterns = { '', 'o', 'l+', 'l*', 'l-', 'l?o', '^h', 'd$', '^$', '%a+', '%A+', '%d+', '%s*(%S+)%s*',\n"
    "  '(%w+)%s*=%s*(%w+)', '%b()', '%b[]', '%f[%a]%a+', '%f[%w]%w+', '[aeiou]', '[^aeiou ]+', '[%a_][%w_]*',\n"
    "  '[a-c]+', '[]]', '[%]]', '[^]]+', '()', '()o()', '(a)(a)', '(h)(e)(l)(l)(o)', '(%a)%1', '%.', '.-',\n"
    "  '(.-),', '^(.-)%s*$', 'x*$', '[%-%.]', '/namespaces/([^/]+)/pods/([^/]+)/(%a+)', 'command=([^&]*)',\n"
    "  '%z', '\\0', '%u%l', '[%d%u]', '.-b', 'a-', 'a-$', '%', '(', '%1', '(()', '%b', '%f', '[a', 'a)', '%g+', '%p', '%c', '%x+' }\n"
    "local bad = {}\n"
    "local function check(what, a, b)\n"
    "  if a ~= b then bad[#bad + 1] = what .. ' => ours ' .. a .. ' / lua ' .. b end\n"
    "end\n"
    "for _, s in ipairs(subjects) do\n"
    "  for _, p in ipairs(patterns) do\n"
    "    for _, init in ipairs({1, 3, -4, 100}) do\n"
    "      local w = string.format('%q %q %d', s, p, init)\n"
    "      check('find ' .. w, pack(pcall(ours.find, s, p, init)), pack(pcall(stock.find, s, p, init)))\n"
    "      check('match ' .. w, pack(pcall(ours.match, s, p, init)), pack(pcall(stock.match, s, p, init)))\n"
    "      check('gmatch ' .. w, pack(pcall(gm, ours, s, p, init)), pack(pcall(gm, stock, s, p, init)))\n"
    "    end\n"
    "    check('plain ' .. p, pack(pcall(ours.find, s, p, 1, true)), pack(pcall(stock.find, s, p, 1, true)))\n"
    "    for _, r in ipairs({ '<%0>', '%1-%1', '%%', 'x', '%2', '%', {o = 'O', hello = 1, l = false},\n"
    "                         function(a, b) if a == 'l' then return nil end return (a or '') .. '!' end }) do\n"
    "      for _, n in ipairs({ -1, 0, 1, 2, 100 }) do\n"
    "        local w = string.format('%q %q %s %d', s, p, tostring(r), n)\n"
    "        check('gsub ' .. w, pack(pcall(ours.gsub, s, p, r, n)), pack(pcall(stock.gsub, s, p, r, n)))\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return bad\n";

static lua_State *state_of(kg_sandbox *sb)
{
    return sb->L;
}

static void test_patterns_match_lua(kg_sandbox *sb)
{
    lua_State *L = state_of(sb);
    int rc;
    ok(luaL_loadstring(L, DIFF_LUA) == LUA_OK, "the comparison chunk loads");
    sandbox_push_globals(sb);
    lua_setupvalue(L, -2, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index");                        /* ours */
    lua_replace(L, -3);
    lua_pop(L, 1);
    luaL_requiref(L, "stock_string", luaopen_string, 0);   /* Lua's own */
    lua_insert(L, -2);                                     /* chunk, stock, ours */
    /* luaopen_string pointed the string metatable at Lua's table: back */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
    sandbox_set_time_limit(sb, 600000);
    sb->budget = 1000000000L;
    rc = sandbox_pcall(sb, 2, 1);
    if (!ok(rc == LUA_OK, "the comparison ran"))
        printf("#   %s\n", lua_tostring(L, -1));
    else {
        lua_Integer n = luaL_len(L, -1);
        ok(n == 0, "find/match/gmatch/gsub agree with Lua's on every case (%d differ)", (int)n);
        for (lua_Integer i = 1; i <= n && i <= 20; i++) {
            lua_rawgeti(L, -1, i);
            printf("#   %s\n", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 0);
    sb->budget = KG_SANDBOX_DEFAULT_BUDGET;
    sandbox_set_time_limit(sb, 0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run chunk in the sandbox (its _ENV the rules' globals); the error
 * message (or "ok"), and the time taken. */
static const char *run(kg_sandbox *sb, const char *chunk, double *secs)
{
    lua_State *L = state_of(sb);
    static char msg[512];
    double t0 = now();
    lua_settop(L, 0);
    if (luaL_loadstring(L, chunk) != LUA_OK)
        return lua_tostring(L, -1);
    sandbox_push_globals(sb);
    lua_setupvalue(L, -2, 1);
    snprintf(msg, sizeof msg, "%s", sandbox_pcall(sb, 0, 1) == LUA_OK ? "ok" : lua_tostring(L, -1));
    *secs = now() - t0;
    lua_settop(L, 0);
    return msg;
}

static void expect_stopped(kg_sandbox *sb, const char *chunk, const char *want, double max)
{
    double secs;
    const char *msg = run(sb, chunk, &secs);
    if (!ok(strstr(msg, want) != NULL && secs < max, "%s -> %s in %.3f s", chunk, want, secs))
        printf("#   got: %s\n", msg);
}

static void test_bounds(kg_sandbox *sb)
{
    double secs;
    expect_stopped(sb, "return string.rep('', 2^50)", "ok", 0.5);
    is_str(run(sb, "local s = string.rep('ab', 3, ',') assert(s == 'ab,ab,ab', s) return s", &secs),
           "ok", "string.rep with a separator");
    is_str(run(sb, "assert(string.rep('x', 0, ',') == '' and string.rep('xy', 1, ',') == 'xy'"
                   " and #string.rep('abc', 100000) == 300000) return 1", &secs), "ok",
           "string.rep edge cases");
    expect_stopped(sb, "return string.rep('x', 2^40, ',')", "longer than", 0.5);
    expect_stopped(sb, "return string.rep('', 2^50, 'x')", "longer than", 0.5);
    expect_stopped(sb, "return string.find(string.rep('a', 4000), '.-.-.-.-.-b')",
                   "instruction budget", 1.0);
    expect_stopped(sb, "return (string.rep('a', 4000)):match('(.-)(.-)(.-)(.-)$x')",
                   "instruction budget", 1.0);
    expect_stopped(sb, "return string.gsub(string.rep('a', 3000), '.-.-.-b', '')",
                   "instruction budget", 1.0);
    expect_stopped(sb, "local t = {} return table.move(t, 1, 2^40, 2)", "instruction budget", 0.5);
    expect_stopped(sb, "return table.concat(setmetatable({}, {__index = string.upper, __len = function() return 2^40 end}))",
                   "instruction budget", 0.5);
    expect_stopped(sb, "return string.format('%0999999d', 1)", "invalid conversion", 0.5);
    /* a small recursive grammar that backtracks exponentially in the VM */
    expect_stopped(sb,
        "local lpeg = require('lpeg') local P, V = lpeg.P, lpeg.V\n"
        "local g = P{ 'S', S = V'T' * 'x' + V'T' * 'y' + P'a', T = 'a' * V'S' }\n"
        "return g:match(string.rep('a', 40) .. 'z')", "exceeded", 1.0);
    is_str(run(sb, "local re = require('re') assert(re.match('key=value', \"{%a+} '=' {%a+}\") == 'key')"
                   " local lpeg = require('lpeg')"
                   " assert(lpeg.match(lpeg.P{ 'S', S = 'a' * lpeg.V'S' + 'b' }, 'aaab') == 5) return 1", &secs),
           "ok", "LPeg grammars and re still work");
    expect_stopped(sb,
        "return xpcall(function() while true do end end, function(m) while true do end end)",
        "instruction budget", 1.0);
}

/* The watchdog: a call that spends its time in C (a cheap budget charge
 * per call, so the budget does not stop it first) ends at the time limit. */
static void test_time_limit(kg_sandbox *sb)
{
    sb->budget = 1L << 40;
    sandbox_set_time_limit(sb, 50);
    expect_stopped(sb, "local s = string.rep('a', 2^20) while true do s:upper() end",
                   "time limit (ms) of 50 exceeded", 0.5);
    expect_stopped(sb, "return xpcall(function() local s = string.rep('a', 2^20) while true do s:upper() end end,"
                       " function(m) while true do end end)", "time limit", 0.5);
    expect_stopped(sb, "return string.find(string.rep('a', 3000), '.-.-.-.-.-b')", "time limit", 0.5);
    is_str(run(sb, "return 1", &(double){0}), "ok", "the next call runs normally");
    sb->budget = KG_SANDBOX_DEFAULT_BUDGET;
}

/* LPeg grammars: building or walking one whose rules call each other as a
 * wide, deep DAG is exponential inside LPeg; tried in a child and refused
 * at the time limit, whichever entry builds it, and not catchable. */
#define DAG_HEAD "local lpeg = require('lpeg') local P, V = lpeg.P, lpeg.V\n" \
    "local function dag(n, tail) local g = { 'A' .. n, A0 = P'a' }\n" \
    "  for i = 1, n do local v = V('A' .. (i - 1))\n" \
    "    g['A' .. i] = tail and ('x' * v + 'y' * v) or (v * 'x' + v * 'y') end\n" \
    "  return g end\n"

static void test_lpeg_grammars(kg_sandbox *sb)
{
    double secs;
    expect_stopped(sb, DAG_HEAD "return P(dag(40))", "LPeg grammar refused: building", 3.0);
    expect_stopped(sb, DAG_HEAD "return lpeg.match(dag(40), 'a')", "LPeg grammar refused: building", 3.0);
    expect_stopped(sb, DAG_HEAD "return P'x' * dag(40)", "LPeg grammar refused: building", 3.0);
    expect_stopped(sb, DAG_HEAD "return lpeg.C(dag(40))", "LPeg grammar refused: building", 3.0);
    expect_stopped(sb, DAG_HEAD "local ok = pcall(P, dag(40)) return ok", "LPeg grammar refused", 3.0);
    /* (the calls follow a letter: cheap to build, compile and walk; each of
     * the five grammars is tried in a child, and a fork of an ASan process
     * costs tens of ms: a time limit that measures what works, not forks) */
    sandbox_set_time_limit(sb, 2000);
    is_str(run(sb, DAG_HEAD "local g = P(dag(40, true)) * -1\n"
                   "assert(g:match('xya') == nil and (P(dag(3, true)) * -1):match('xyxa') == 5)\n"
                   "assert(lpeg.match(P{ 'S', S = 'a' * V'S' + 'b' } * -1, 'aab') == 4)\n"
                   "local re = require('re') assert(re.match('ab', \"S <- 'a' S / 'b'\") == 3)\n"
                   "return 1", &secs), "ok", "grammars that are cheap to build still work, "
           "composed, matched and through re");
    sandbox_set_time_limit(sb, 0);
    /* cheap to build and compile (tried at once), too costly to compile in
     * 1024 copies (copying is not tried: the first match is) */
    sandbox_set_time_limit(sb, 150);
    expect_stopped(sb, DAG_HEAD "local p = P(dag(12)) for i = 1, 10 do p = p * p end\n"
                   "return lpeg.match(p, 'a')",
                   "LPeg grammar refused: compiling this grammar did not finish within the time "
                   "limit (ms) of 150", 5.0);
    sandbox_set_time_limit(sb, 0);
    is_str(run(sb, "return 1", &secs), "ok", "the next call runs normally");
}

int main(void)
{
    char err[256];
    kg_sandbox *sb = sandbox_new("lualib", 0, 0, err, sizeof err);
    if (!ok(sb != NULL, "sandbox_new"))
        return 1;
    test_patterns_match_lua(sb);
    test_bounds(sb);
    test_time_limit(sb);
    test_lpeg_grammars(sb);
    sandbox_free(sb);
    return done_testing();
}
