/*
 * sandbox_lpeg: LPeg as rules see it (see sandbox.h).  Matching charges its
 * worst case to the budget up front and every grammar rule call as it
 * happens (lpeg.V adds a tick).  Grammars are the one part of LPeg whose C
 * code can run unbounded before any match: building or compiling a grammar
 * whose rules call each other as a wide, deep DAG walks every call path,
 * and neither the budget nor the watchdog can stop C code that never calls
 * back into Lua.  So every LPeg operation that builds or walks a grammar (a
 * table argument, or a pattern built from one) is first run in a forked
 * child under the call's time limit (CPU, and the watchdog's wall-clock
 * factor); one that does not finish there is refused with an error that no
 * pcall catches, and the engine never runs it.  The first match of a
 * pattern that contains a grammar, which compiles it, is tried the same
 * way.  glibc's fork is safe for the calling thread's own malloc use, and
 * the child only runs LPeg on its copy of the rule state, then _exit()s.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <lauxlib.h>
#include "freeze.h"
#include "sandbox.h"
#include "sandbox_int.h"
#include "watchdog.h"

#define LPEG_PATTERN_MT "lpeg-pattern"
#define LPEG_NODE_BYTES 8     /* an LPeg 1.0 tree node */
#define LPEG_CALL_COST 4      /* instructions charged per grammar rule call */
#define MAX_CHARGE (1L << 40) /* more than any budget */
#define GRAMMARS_KEY "kguard.lpeg.grammars"  /* weak set: patterns holding a grammar */
#define COMPILED_KEY "kguard.lpeg.compiled"  /* weak set: ... whose compile was tried */
#define PROBE_KEY "kguard.lpeg.probe"        /* {real match, real __mul, P(1)} */

/* ---- trials in a child process ---------------------------------------- */

static long trial_limit_ms(const kg_sandbox *sb)
{
    return sb->load_pending ? sb->load_time_limit_ms : sb->time_limit_ms;
}

/* The child: the function and its nargs arguments are on top of the
 * stack.  SIGPROF ends it once it has used limit_ms of CPU. */
static _Noreturn void trial_child(lua_State *L, int nargs, long limit_ms)
{
    struct itimerval it;
    sigset_t set;
    memset(&it, 0, sizeof it);
    signal(SIGPROF, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGPROF);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    it.it_value.tv_sec = limit_ms / 1000;
    it.it_value.tv_usec = (limit_ms % 1000) * 1000;
    setitimer(ITIMER_PROF, &it, NULL);
    _exit(lua_pcall(L, nargs, 0, 0) == LUA_OK ? 0 : 1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wait for the child; 0 when it finished (whether or not the operation
 * raised an error: the real one then raises it as cheaply), SIGPROF when
 * it ran out of CPU time, SIGKILL when out of the wall-clock bound, or the
 * signal that ended it (LPeg crashed, say its C stack overflowed). */
static int trial_wait(pid_t pid, long limit_ms)
{
    double start = now_ms(), wall = (double)limit_ms * KG_WATCHDOG_WALL_FACTOR;
    struct timespec nap = {0, 100000};
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        if (r < 0 && errno != EINTR)
            return SIGKILL;
        if (now_ms() - start > wall) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return SIGKILL;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 2000000)
            nap.tv_nsec *= 2;
    }
}

/* Run the function on top of the stack, below its nargs arguments, in a
 * child first; pops them.  Raises the (uncatchable) refusal when the child
 * did not finish within the call's time limit, or crashed. */
static void trial(lua_State *L, int nargs, const char *what)
{
    kg_sandbox *sb = sandbox_of(L);
    long limit = trial_limit_ms(sb);
    pid_t pid = fork();
    int sig;
    if (pid == 0)
        trial_child(L, nargs, limit);
    lua_pop(L, nargs + 1);
    if (pid < 0)
        luaL_error(L, "lpeg: cannot try %s in a child process: %s", what, strerror(errno));
    if (!(sig = trial_wait(pid, limit)))
        return;
    sb->exhausted = 1;
    if (sig == SIGPROF || sig == SIGKILL)
        luaL_error(L, "LPeg grammar refused: %s did not finish within the time limit "
                   "(ms) of %d", what, (int)limit);
    luaL_error(L, "LPeg grammar refused: %s crashed LPeg in a trial (%s)", what, strsignal(sig));
}

/* Compile the pattern at idx without running any of it: match P(1) * p
 * (the real functions) on "", which fails before p. */
static void compile_probe(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, PROBE_KEY);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    lua_rawgeti(L, -3, 3);
    lua_pushvalue(L, idx);
    lua_call(L, 2, 1);
    lua_pushliteral(L, "");
    lua_call(L, 2, 0);
    lua_pop(L, 1);
}

/* A trial's work for an operation (upvalue 1): run it, then compile the
 * pattern it built, so that one child tries both. */
static int build_and_compile(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    if (lua_type(L, -1) == LUA_TUSERDATA)
        compile_probe(L, -1);
    return 0;
}

/* A trial's work for a match: compile the pattern (argument 1). */
static int compile_only(lua_State *L)
{
    compile_probe(L, 1);
    return 0;
}

/* ---- which operations need a trial ------------------------------------ */

static int in_set(lua_State *L, const char *key, int idx)
{
    return lua_type(L, idx) == LUA_TUSERDATA && freeze_in_table(L, key, idx);
}

static void add_to_set(lua_State *L, const char *key, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA)
        return;
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* An LPeg function or pattern operator, with the argument positions LPeg
 * turns into patterns (a table there becomes a grammar) and those whose
 * tree it walks following rule calls (nofail, nullable, fixedlen...). */
typedef struct lpeg_op {
    const char *name;
    int meta;          /* a metamethod of the pattern metatable */
    unsigned coerced;  /* bit i-1: argument i */
    unsigned walked;
} lpeg_op;

static const lpeg_op lpeg_ops[] = {
    {"P", 0, 1, 0}, {"B", 0, 1, 1}, {"C", 0, 1, 0}, {"Cf", 0, 1, 0},
    {"Cg", 0, 1, 0}, {"Cmt", 0, 1, 0}, {"Cs", 0, 1, 0}, {"Ct", 0, 1, 0},
    {"__add", 1, 3, 1}, {"__mul", 1, 3, 0}, {"__sub", 1, 3, 0},
    {"__div", 1, 1, 0}, {"__unm", 1, 1, 0}, {"__len", 1, 1, 0},
    {"__pow", 1, 1, 1},
    {NULL, 0, 0, 0}
};

/* 2: the operation builds or walks a grammar (try it first); 1: its
 * result holds a grammar; 0: neither. */
static int grammar_use(lua_State *L, const lpeg_op *op)
{
    int use = 0;
    for (int i = 1; i <= 2; i++) {
        if (!(op->coerced & (1u << (i - 1))))
            continue;
        if (lua_type(L, i) == LUA_TTABLE)
            return 2;
        if (in_set(L, GRAMMARS_KEY, i))
            use = (op->walked & (1u << (i - 1))) ? 2 : (use > 1 ? use : 1);
    }
    return use;
}

/* upvalue 1: the real function, 2: its index in lpeg_ops. */
static int lpeg_guarded(lua_State *L)
{
    const lpeg_op *op = &lpeg_ops[lua_tointeger(L, lua_upvalueindex(2))];
    int top = lua_gettop(L), use = grammar_use(L, op);
    if (use == 2) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushcclosure(L, build_and_compile, 1);
        for (int i = 1; i <= top; i++)
            lua_pushvalue(L, i);
        trial(L, top, "building this grammar");
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, top, LUA_MULTRET);
    if (use && lua_gettop(L) >= 1)
        add_to_set(L, GRAMMARS_KEY, 1);
    if (use == 2 && lua_gettop(L) >= 1)
        add_to_set(L, COMPILED_KEY, 1);          /* the trial compiled it too */
    return lua_gettop(L);
}

/* ---- matching --------------------------------------------------------- */

/* A match-time capture run at every grammar rule call: charges the call,
 * and so stops a grammar that backtracks exponentially. */
static int lpeg_tick(lua_State *L)
{
    sandbox_charge(L, LPEG_CALL_COST);
    lua_pushboolean(L, 1);
    return 1;
}

/* lpeg.V(name) for rules: the call, preceded by a tick. */
static int lpeg_v(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(2));         /* the ticking pattern */
    lua_pushvalue(L, lua_upvalueindex(1));         /* the real V */
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_arith(L, LUA_OPMUL);
    return 1;
}

/* The first match of a pattern holding a grammar compiles it: unless a
 * trial already compiled it, try the compile in a child first. */
static void try_compile(lua_State *L)
{
    if (!in_set(L, GRAMMARS_KEY, 1) || in_set(L, COMPILED_KEY, 1))
        return;
    lua_pushcfunction(L, compile_only);
    lua_pushvalue(L, 1);
    trial(L, 1, "compiling this grammar");
    add_to_set(L, COMPILED_KEY, 1);
}

/* lpeg.match(p, subject, ...) and p:match(subject, ...): without calls, an
 * LPeg pattern visits each node at most once per subject position, so
 * nodes x (length + 1) bounds the work; charged before matching.
 * upvalues: the real match, the rules' P. */
static int lpeg_match(lua_State *L)
{
    size_t len = 0, nodes;
    int top = lua_gettop(L);
    if (!lua_isuserdata(L, 1)) {                   /* a string, table...: as lpeg.P */
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_replace(L, 1);
    }
    try_compile(L);
    nodes = lua_rawlen(L, 1) / LPEG_NODE_BYTES + 1;
    if (lua_type(L, 2) == LUA_TSTRING)
        lua_tolstring(L, 2, &len);
    sandbox_charge(L, (long)((nodes * (len + 1)) >> 5 > (size_t)MAX_CHARGE
                             ? MAX_CHARGE : (nodes * (len + 1)) >> 5));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, top, LUA_MULTRET);
    return lua_gettop(L);
}

static int lpeg_refused(lua_State *L)
{
    return luaL_error(L, "lpeg.setmaxstack is not available to rules (it is process-wide)");
}

/* ---- installing ------------------------------------------------------- */

/* Replace each operation of lpeg_ops in the table at lib (the library) or
 * mt (the pattern metatable) by its guarded closure. */
static void guard_ops(lua_State *L, int lib, int mt)
{
    for (const lpeg_op *op = lpeg_ops; op->name; op++) {
        int t = op->meta ? mt : lib;
        if (lua_getfield(L, t, op->name) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushinteger(L, op - lpeg_ops);
        lua_pushcclosure(L, lpeg_guarded, 2);
        lua_setfield(L, t, op->name);
    }
}

/* V, the compile probe and match, from the real functions; then the
 * guarded operations. */
static void wrap_v_and_match(lua_State *L, int lib, int mt)
{
    lua_getfield(L, lib, "V");                       /* the real V */
    lua_getfield(L, lib, "Cmt");
    lua_getfield(L, lib, "P");
    lua_pushboolean(L, 1);
    lua_call(L, 1, 1);                               /* P(true) */
    lua_pushcfunction(L, lpeg_tick);
    lua_call(L, 2, 1);                               /* Cmt(P(true), tick) */
    lua_pushcclosure(L, lpeg_v, 2);
    lua_setfield(L, lib, "V");

    lua_createtable(L, 3, 0);                        /* the compile probe */
    lua_getfield(L, lib, "match");
    lua_rawseti(L, -2, 1);
    lua_getfield(L, mt, "__mul");
    lua_rawseti(L, -2, 2);
    lua_getfield(L, lib, "P");
    lua_pushinteger(L, 1);
    lua_call(L, 1, 1);
    lua_rawseti(L, -2, 3);
    lua_setfield(L, LUA_REGISTRYINDEX, PROBE_KEY);

    lua_getfield(L, lib, "match");                   /* the real match */
    guard_ops(L, lib, mt);
    lua_getfield(L, lib, "P");                       /* the rules' P */
    lua_pushcclosure(L, lpeg_match, 2);
    lua_setfield(L, lib, "match");
}

void sandbox_lpeg_open(lua_State *L)
{
    int lib, mt;
    lua_getglobal(L, "lpeg");
    luaL_getmetatable(L, LPEG_PATTERN_MT);
    if (!lua_istable(L, -2) || !lua_istable(L, -1)) {
        lua_pop(L, 2);
        return;
    }
    lib = lua_absindex(L, -2);
    mt = lua_absindex(L, -1);
    freeze_weak_table(L, GRAMMARS_KEY);
    freeze_weak_table(L, COMPILED_KEY);
    wrap_v_and_match(L, lib, mt);
    lua_pushcfunction(L, lpeg_refused);
    lua_setfield(L, lib, "setmaxstack");
    lua_pop(L, 2);
}
