/*
 * sandbox_pattern: string.find, string.match, string.gmatch and string.gsub
 * for the sandbox (see sandbox_int.h).  Lua 5.4's pattern language, matched by
 * backtracking as Lua does, except that the matcher charges its steps to
 * the calling rule's instruction budget (sandbox_charge), so a pattern that
 * backtracks without end (".-.-.-.-x" over a long subject) is stopped by
 * the budget or the time limit like any Lua loop.
 */
#include <ctype.h>
#include <string.h>
#include <lauxlib.h>
#include "sandbox.h"
#include "sandbox_int.h"

#define MAXCAPTURES 32
#define MAXDEPTH 200          /* nested match calls, as Lua's MAXCCALLS */
#define STEPS_PER_CHARGE 1024 /* matcher steps per charge */
#define STEP_COST 512         /* instructions charged per STEPS_PER_CHARGE steps */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct mstate {
    const char *src, *src_end, *p_end;
    lua_State *L;
    int depth, level, steps;
    struct { const char *init; ptrdiff_t len; } cap[MAXCAPTURES];
} mstate;

static void step(mstate *ms)
{
    if (--ms->steps <= 0) {
        ms->steps = STEPS_PER_CHARGE;
        sandbox_charge(ms->L, STEP_COST);
    }
}

static const char *class_end(mstate *ms, const char *p)
{
    if (*p++ == ESC) {
        if (p == ms->p_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (p[-1] == '[') {
        if (*p == '^')
            p++;
        do {                                  /* the first ']' is a member */
            if (p == ms->p_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == ESC && p < ms->p_end)
                p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

static int class_has(int c, int cl)
{
    int res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = c == 0; break;
    default: return cl == c;
    }
    if (isupper(cl))
        res = !res;
    return res != 0;
}

/* c against the set [p .. ec] (p at '[', ec at its ']'). */
static int set_has(int c, const char *p, const char *ec)
{
    int found = 1;
    if (p[1] == '^') {
        found = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == ESC) {
            p++;
            if (class_has(c, (unsigned char)*p))
                return found;
        } else if (p[1] == '-' && p + 2 < ec) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return found;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return found;
        }
    }
    return !found;
}

static int single(mstate *ms, const char *s, const char *p, const char *ep)
{
    int c;
    if (s >= ms->src_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *do_match(mstate *ms, const char *s, const char *p);

static const char *match_balance(mstate *ms, const char *s, const char *p)
{
    int cont = 1;
    if (p + 1 >= ms->p_end)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    while (++s < ms->src_end) {
        if (*s == p[1]) {
            if (--cont == 0)
                return s + 1;
        } else if (*s == *p) {
            cont++;
        }
    }
    return NULL;
}

static const char *max_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single(ms, s + i, p, ep))
        i++;
    for (; i >= 0; i--) {             /* try the longest first */
        const char *res;
        step(ms);
        if ((res = do_match(ms, s + i, ep + 1)) != NULL)
            return res;
    }
    return NULL;
}

static const char *min_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res;
        step(ms);
        if ((res = do_match(ms, s, ep + 1)) != NULL)
            return res;
        if (!single(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *start_capture(mstate *ms, const char *s, const char *p, ptrdiff_t what)
{
    const char *res;
    if (ms->level >= MAXCAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->cap[ms->level].init = s;
    ms->cap[ms->level].len = what;
    ms->level++;
    if ((res = do_match(ms, s, p)) == NULL)
        ms->level--;
    return res;
}

static int open_capture(mstate *ms)
{
    for (int l = ms->level - 1; l >= 0; l--)
        if (ms->cap[l].len == CAP_UNFINISHED)
            return l;
    return luaL_error(ms->L, "invalid pattern capture");
}

static const char *end_capture(mstate *ms, const char *s, const char *p)
{
    int l = open_capture(ms);
    const char *res;
    ms->cap[l].len = s - ms->cap[l].init;
    if ((res = do_match(ms, s, p)) == NULL)
        ms->cap[l].len = CAP_UNFINISHED;
    return res;
}

static int capture_index(mstate *ms, int c)
{
    int l = c - '1';
    if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_UNFINISHED)
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *match_back(mstate *ms, const char *s, int c)
{
    int l = capture_index(ms, c);
    size_t len = (size_t)ms->cap[l].len;
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

/* %f[set] at p (p at '['): s when the frontier holds, with *next past the
 * set; NULL otherwise. */
static const char *match_frontier(mstate *ms, const char *s, const char *p,
                                  const char **next)
{
    const char *ep;
    int prev, cur;
    if (*p != '[')
        luaL_error(ms->L, "missing '[' after '%%f' in pattern");
    ep = class_end(ms, p);
    *next = ep;
    prev = s == ms->src ? '\0' : (unsigned char)s[-1];
    cur = s < ms->src_end ? (unsigned char)*s : '\0';
    return !set_has(prev, p, ep - 1) && set_has(cur, p, ep - 1) ? s : NULL;
}

/* Match p against s; NULL when it does not match.  Items that need no
 * backtracking are taken in the loop, so only real branches nest. */
static const char *do_match(mstate *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex");
    while (s && p != ms->p_end) {
        const char *ep;
        step(ms);
        if (*p == '(') {
            s = p[1] == ')' ? start_capture(ms, s, p + 2, CAP_POSITION)
                            : start_capture(ms, s, p + 1, CAP_UNFINISHED);
            break;
        } else if (*p == ')') {
            s = end_capture(ms, s, p + 1);
            break;
        } else if (*p == '$' && p + 1 == ms->p_end) {
            s = s == ms->src_end ? s : NULL;
            break;
        } else if (*p == ESC && p[1] == 'b') {
            s = match_balance(ms, s, p + 2);
            p += 4;
            continue;
        } else if (*p == ESC && p[1] == 'f') {
            s = match_frontier(ms, s, p + 2, &p);
            continue;
        } else if (*p == ESC && isdigit((unsigned char)p[1])) {
            s = match_back(ms, s, (unsigned char)p[1]);
            p += 2;
            continue;
        }
        ep = class_end(ms, p);
        if (!single(ms, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') {
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *res = do_match(ms, s + 1, ep + 1);
            if (res) {
                s = res;
                break;
            }
            p = ep + 1;
        } else if (*ep == '+') {
            s = max_expand(ms, s + 1, p, ep);
            break;
        } else if (*ep == '*') {
            s = max_expand(ms, s, p, ep);
            break;
        } else if (*ep == '-') {
            s = min_expand(ms, s, p, ep);
            break;
        } else {
            s++;
            p = ep;
        }
    }
    ms->depth++;
    return s;
}

/* ---- captures --------------------------------------------------------- */

/* Push capture i; with no captures at all, capture 0 is the whole match. */
static size_t push_capture(mstate *ms, int i, const char *s, const char *e, int whole_ok)
{
    if (i >= ms->level) {
        if (i != 0 || !whole_ok)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return (size_t)(e - s);
    }
    if (ms->cap[i].len == CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    if (ms->cap[i].len == CAP_POSITION) {
        lua_pushinteger(ms->L, (ms->cap[i].init - ms->src) + 1);
        return 0;
    }
    lua_pushlstring(ms->L, ms->cap[i].init, (size_t)ms->cap[i].len);
    return (size_t)ms->cap[i].len;
}

static int push_captures(mstate *ms, const char *s, const char *e, int whole)
{
    int n = ms->level == 0 && whole ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(ms, i, s, e, 1);
    return n;
}

static void prepare(mstate *ms, lua_State *L, const char *s, size_t ls,
                    const char *p, size_t lp)
{
    ms->L = L;
    ms->src = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->steps = STEPS_PER_CHARGE;
}

static void restart(mstate *ms)
{
    ms->level = 0;
    ms->depth = MAXDEPTH;
}

/* ---- find and match --------------------------------------------------- */

static size_t start_index(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0)
        return 1;
    if (pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static int no_specials(const char *p, size_t l)
{
    for (size_t i = 0; i < l; i++)
        if (p[i] && strchr(SPECIALS, p[i]))
            return 0;
    return 1;
}

static const char *find_plain(const char *s, size_t ls, const char *p, size_t lp)
{
    if (lp == 0)
        return s;
    while (lp <= ls) {
        const char *hit = memchr(s, *p, ls - lp + 1);
        if (!hit)
            return NULL;
        if (memcmp(hit + 1, p + 1, lp - 1) == 0)
            return hit;
        ls -= (size_t)(hit + 1 - s);
        s = hit + 1;
    }
    return NULL;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    mstate ms;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    sandbox_charge(L, (long)((ls - init) >> 8));      /* the scan itself */
    if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
        const char *hit = find_plain(s + init, ls - init, p, lp);
        if (!hit) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
        return 2;
    }
    prepare(&ms, L, s, ls, p, lp);
    {
        const char *s1 = s + init;
        int anchor = *p == '^';
        if (anchor) {
            p++;
        }
        do {
            const char *e;
            restart(&ms);
            if ((e = do_match(&ms, s1, p)) != NULL) {
                if (!find)
                    return push_captures(&ms, s1, e, 1);
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return push_captures(&ms, NULL, NULL, 0) + 2;
            }
        } while (s1++ < ms.src_end && !anchor);
    }
    luaL_pushfail(L);
    return 1;
}

static int lpat_find(lua_State *L) { return find_aux(L, 1); }
static int lpat_match(lua_State *L) { return find_aux(L, 0); }

/* ---- gmatch ----------------------------------------------------------- */

typedef struct gstate {
    const char *src, *lastmatch;
    mstate ms;
} gstate;

static int gmatch_next(lua_State *L)
{
    gstate *g = lua_touserdata(L, lua_upvalueindex(3));
    g->ms.L = L;
    for (const char *src = g->src; src <= g->ms.src_end; src++) {
        const char *e;
        restart(&g->ms);
        if ((e = do_match(&g->ms, src, lua_tostring(L, lua_upvalueindex(2)))) != NULL &&
            e != g->lastmatch) {
            g->src = g->lastmatch = e;
            return push_captures(&g->ms, src, e, 1);
        }
    }
    return 0;
}

static int lpat_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    gstate *g;
    lua_settop(L, 2);
    g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1;          /* start past the end: no matches */
    prepare(&g->ms, L, s, ls, p, lp);
    g->src = s + init;
    g->lastmatch = NULL;
    lua_pushcclosure(L, gmatch_next, 3);   /* the subject and pattern stay alive */
    return 1;
}

/* ---- gsub ------------------------------------------------------------- */

static void add_string(mstate *ms, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    while ((p = memchr(news, ESC, l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == ESC) {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit((unsigned char)*p)) {
            push_capture(ms, *p - '1', s, e, 1);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

/* Add the replacement of one match; returns whether it changed anything. */
static int add_value(mstate *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = ms->L;
    if (tr == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = push_captures(ms, s, e, 1);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(ms, 0, s, e, 1);
        lua_gettable(L, 3);
    } else {
        add_string(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int lpat_gsub(lua_State *L)
{
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1), n = 0;
    int anchor = *p == '^', changed = 0;
    mstate ms;
    luaL_Buffer b;

    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                     tr == LUA_TTABLE, 3, "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    prepare(&ms, L, src, srcl, p, lp);
    while (n < max_s) {
        const char *e;
        restart(&ms);
        if ((e = do_match(&ms, src, p)) != NULL && e != lastmatch) {
            n++;
            changed |= add_value(&ms, &b, src, e, tr);
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
        if (luaL_bufflen(&b) > KG_SANDBOX_MAX_STRING)
            return luaL_error(L, "string.gsub: result longer than %d MiB",
                              (int)(KG_SANDBOX_MAX_STRING >> 20));
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void sandbox_patterns_open(lua_State *L, int strlib)
{
    static const luaL_Reg fns[] = {
        {"find", lpat_find}, {"match", lpat_match}, {"gmatch", lpat_gmatch},
        {"gsub", lpat_gsub}, {NULL, NULL}
    };
    strlib = lua_absindex(L, strlib);
    lua_pushvalue(L, strlib);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
