/*
 * suppress: suppression rules in GuardDuty's filter-criteria form.  A rule
 * is a named AND of criteria; a criterion is one condition on one dotted
 * lowerCamel attribute path of the finding (arrays on the path are searched
 * element by element).  suppress_read compiles one rule from the config's
 * Lua table; suppress_match finds the first rule a finding satisfies.
 */
#ifndef KGUARD_SUPPRESS_H
#define KGUARD_SUPPRESS_H

#include <stddef.h>
#include <cJSON.h>

#define SUPPRESS_MAX_VALUES 50   /* values per condition, as GuardDuty */

typedef enum kg_cond {
    KG_EQUALS, KG_NOT_EQUALS, KG_GREATER, KG_GREATER_EQ, KG_LESS, KG_LESS_EQ,
    KG_MATCHES, KG_NOT_MATCHES
} kg_cond;

typedef struct kg_criterion {
    char *attribute;       /* dotted lowerCamel path into the finding */
    kg_cond cond;
    char **values;         /* (not)equals: strings; (not)matches: globs */
    size_t n_values;
    double number;         /* comparisons: a number or epoch ms */
} kg_criterion;

typedef struct kg_filter {
    char *name, *description;
    kg_criterion *criteria;
    size_t n_criteria;
} kg_filter;

struct lc_ctx;
struct lua_State;

/* Read the rule table at index t into *f (zeroed by the caller); problems
 * go to lc, naming file:line.  0, or -1 when the rule is bad. */
int suppress_read(struct lc_ctx *lc, struct lua_State *L, int t, kg_filter *f);

/* The first of the n rules that the finding satisfies, or NULL. */
const kg_filter *suppress_match(const kg_filter *rules, size_t n, const cJSON *finding);

/* Free what *f owns. */
void suppress_free(kg_filter *f);

#endif
