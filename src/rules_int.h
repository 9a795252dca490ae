/*
 * rules_int: what the rules_* files share and nothing else includes: the
 * layout of a generation, the per-event judging context, the match-condition
 * table and the entry points of each rules_* file.
 *
 *   rules_load.c   ruleset_load: files, rule tables, validation
 *   rules_match.c  the declarative `match` conditions, one table entry each
 *   rules_index.c  the verb/resource index that picks candidate rules
 *   rules_judge.c  ruleset_judge: conditions, list lookups, the IP memo,
 *                  predicates
 */
#ifndef KGUARD_RULES_INT_H
#define KGUARD_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <lua.h>
#include "kguard/rules.h"
#include "hmap.h"
#include "luacheck.h"
#include "sandbox.h"

#define RULES_IP_MEMO 4096 /* slots of the IP memo; a power of two */

/* What the lists say of one caller address (rules_judge.c). */
typedef struct rules_ip_memo {
    kg_ip ip;
    short list[KG_LIST_KINDS];
    bool valid;
} rules_ip_memo;

struct kg_ruleset {
    kg_sandbox *sb;
    const kg_lists *lists;
    kg_rule *rules;
    size_t n;
    hmap index;            /* api key -> rule ids (rules_index.c) */
    size_t *always;        /* rules without an api condition */
    size_t n_always;
    size_t *scratch;       /* candidate ids of one event: 2 * n + 1 */
    rules_ip_memo *memo;   /* recent callers' list hits (RULES_IP_MEMO slots) */
    unsigned long seq;     /* events judged */
    unsigned long max_failures; /* the circuit breaker's threshold; 0: none */
};

/* One event being judged; facts are computed at most once per event. */
typedef struct rules_judge_ctx {
    kg_ruleset *rs;
    const kg_event *ev;
    const kg_judge_cb *cb;
    bool event_set;                 /* the Lua event points at ev */
    bool body_missing;              /* a rule wanted a body the event lacks */
    signed char privileged, host_path;  /* pod spec facts: -1 not yet computed */
    int rule_ip_kind;               /* list kind the current rule's ip_list hit, or -1 */
    signed char hit_known[KG_LIST_KINDS];
    const kg_list *hit_list[KG_LIST_KINDS];
    int hit_ip[KG_LIST_KINDS];
} rules_judge_ctx;

/* ---- rules_match.c ---------------------------------------------------- */

/* A compiled condition: the entry it came from and its parsed value. */
typedef struct rules_cond {
    const struct rules_match_def *def;
    int flag;              /* booleans (0/1) and enumerations */
    char **strs;           /* string lists */
    size_t n;
} rules_cond;

/* Where a condition is being compiled. */
typedef struct rules_match_ctx {
    lc_ctx *lc;
    kg_rule *rule;
    hmap *index;
    size_t id;             /* the rule's id in the generation */
    char **api;            /* the api keys read, indexed once the rule's */
    size_t n_api;          /* conditions are all compiled */
} rules_match_ctx;

/* One `match` key.  parse reads match[key] (the match table is at t):
 * 1 keeps *out as a condition, 0 keeps nothing (absent, or handled at load
 * time like the index), -1 is an error already reported through mc->lc.
 * test says whether the event satisfies the condition (NULL: no run-time
 * test).  Entries are tested in table order. */
typedef struct rules_match_def {
    const char *key;
    int (*parse)(rules_match_ctx *mc, lua_State *L, int t, rules_cond *out);
    bool (*test)(rules_judge_ctx *c, const rules_cond *k);
} rules_match_def;

/* Compile the rule table's `match` (rule table at t) into r->conds; index
 * r under its api keys. */
int rules_match_compile(rules_match_ctx *mc, lua_State *L, int t);
/* Do all of r's conditions hold for the event? */
bool rules_match_hold(rules_judge_ctx *c, const kg_rule *r);
void rules_match_free(kg_rule *r);

/* ---- rules_index.c ---------------------------------------------------- */

int rules_index_add(hmap *index, const char *key, size_t id);
/* The same under "key\x1fns" for each of the rule's namespaces. */
int rules_index_add_ns(hmap *index, const char *key, char *const *ns, size_t n_ns, size_t id);
/* Candidate rule ids for the event, ascending (load order), at most max. */
size_t rules_index_candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max);
void rules_index_free(hmap *index);

/* ---- rules_judge.c ---------------------------------------------------- */

/* Is a caller IP of the event on a list of that kind (trusted ones passed
 * over)?  Remembers the hit for the finding. */
bool rules_judge_ip_hit(rules_judge_ctx *c, int kind);

/* ---- rules_load.c ----------------------------------------------------- */

/* The severity at the top of the stack (a name or a number), or -1. */
double rules_lua_severity(lua_State *L);
/* Lua's message with a cut file name ("...tail:LINE: ...") made whole. */
const char *rules_full_source(const char *msg, const char *path, char *out, size_t n);

#endif
