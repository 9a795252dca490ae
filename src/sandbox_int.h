/*
 * sandbox_int.h: what the sandbox module's files share privately
 * (sandbox.c, sandbox_limits.c, sandbox_pattern.c, sandbox_lpeg.c).
 */
#ifndef KGUARD_SANDBOX_INT_H
#define KGUARD_SANDBOX_INT_H

#include <lua.h>

/* Wrap, in the freshly opened library tables of L, the functions whose one
 * C call could otherwise run unbounded (sandbox_limits.c). */
void sandbox_limits_open(lua_State *L);

/* Replace find, match, gmatch and gsub in the string library table at
 * index strlib by sandbox_pattern.c's: Lua 5.4's pattern language and
 * results, with a matcher that charges its work to the budget. */
void sandbox_patterns_open(lua_State *L, int strlib);

/* Wrap, in the freshly opened lpeg table and pattern metatable of L, what
 * rules may do with LPeg: charged matching, ticking grammar calls, and
 * grammars tried in a child process first (sandbox_lpeg.c). */
void sandbox_lpeg_open(lua_State *L);

#endif
