/*
 * lists: loading and naming the engine's IP lists, and leaving the
 * special-purpose ranges out of threat lists (see lists.h); taking them
 * from, and writing them to, the list cache (listcache.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kguard/ipspecial.h"
#include "kguard/lists.h"
#include "listcache.h"
#include "util.h"

static const char *const kind_names[KG_LIST_KINDS] = {"tor", "malicious", "custom"};

int lists_kind_from_name(const char *s)
{
    for (int k = 0; k < KG_LIST_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

const kg_list *lists_find(const kg_lists *ls, const char *name)
{
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return &ls->v[i];
    return NULL;
}

bool lists_trusted(const kg_lists *ls, const kg_ip *ip)
{
    for (size_t i = 0; ls && i < ls->n; i++)
        if (ls->v[i].kind == KG_LIST_TRUSTED && ipset_contains(ls->v[i].set, ip))
            return true;
    return false;
}

/* Add l (its set finalized) to ls. */
static int push_list(kg_lists *ls, kg_list *l, char *err, size_t errlen)
{
    kg_list *nv;
    if (!(nv = realloc(ls->v, (ls->n + 1) * sizeof *nv))) {
        snprintf(err, errlen, "out of memory loading list %s", l->name);
        return -1;
    }
    ls->v = nv;
    ls->v[ls->n++] = *l;
    return 0;
}

static void drop_list(kg_list *l)
{
    ipset_free(l->set);
    free(l->name);
    free(l->path);
}

int lists_add_entries(kg_lists *ls, kg_list_kind kind, const char *name,
                      char *const *entries, size_t n, kg_ipset_warn_fn warn,
                      void *ud, char *err, size_t errlen)
{
    kg_list l = {ipset_new(name), kind, strdup(name), strdup("(config)"), n, {0, 0}, true, NULL};
    char msg[256];
    if (!l.set || !l.name || !l.path) {
        snprintf(err, errlen, "out of memory");
        drop_list(&l);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (ipset_add(l.set, entries[i], msg, sizeof msg) < 0 && warn)
            warn(ud, name, (long)i + 1, msg);
    if (ipset_finalize(l.set) < 0) {
        snprintf(err, errlen, "out of memory loading list %s", name);
        drop_list(&l);
        return -1;
    }
    if (push_list(ls, &l, err, errlen) < 0) {
        drop_list(&l);
        return -1;
    }
    return 0;
}

void lists_free(kg_lists *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        drop_list(&ls->v[i]);
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
}

/* ---- loading many lists at once ---------------------------------------- */

typedef struct job {
    const kg_list_spec *spec;
    const kg_ipset *special;   /* NULL: keep every entry */
    const char *cache_dir;     /* NULL: no cache */
    uint64_t recipe;
    kg_ipset *set;
    size_t entries;
    kg_ipset_cut cut;
    listcache_note *warnings;
    size_t n_warnings;
    int failed;
    const char *cache;         /* kg_list.cache */
    bool keyed;                /* key and cpath are set */
    listcache_key key;
    char cpath[4096];
    char cache_why[600];       /* a cache file ignored or not written: why */
    char err[512];
} job;

typedef struct pool {
    job *jobs;
    size_t n, next;
    pthread_mutex_t lock;
} pool;

static void keep_warning(void *ud, const char *path, long line, const char *msg)
{
    job *j = ud;
    listcache_note *nv = realloc(j->warnings, (j->n_warnings + 1) * sizeof *nv);
    (void)path;
    if (!nv)
        return;
    j->warnings = nv;
    nv[j->n_warnings].line = line;
    if ((nv[j->n_warnings].msg = strdup(msg)) != NULL)
        j->n_warnings++;
}

/* The list from its cache file, when there is one matching the list file. */
static bool from_cache(job *j)
{
    listcache_meta meta;
    char why[256];
    if (listcache_key_of(j->spec->path, j->recipe, &j->key) != 0 ||
        !listcache_path(j->cache_dir, j->spec->path, j->recipe, j->cpath, sizeof j->cpath))
        return false;
    j->keyed = true;
    j->set = listcache_load(j->cpath, j->spec->name, &j->key, &meta, why, sizeof why);
    if (!j->set) {
        if (why[0])
            util_set_err(j->cache_why, sizeof j->cache_why, "list cache %s (list %s): ignored: %s; "
                     "rebuilt from %s", j->cpath, j->spec->name, why, j->spec->path);
        return false;
    }
    j->entries = meta.entries;
    j->cut = meta.cut;
    j->warnings = meta.notes;
    j->n_warnings = meta.n_notes;
    j->cache = "hit";
    return true;
}

/* Write the cache file of a list just read, unless the list file changed
 * while it was read (its cache would then name the wrong content). */
static void to_cache(job *j)
{
    listcache_meta meta = {j->entries, j->cut, j->warnings, j->n_warnings};
    struct stat sb;
    char why[512];
    j->cache = "unwritten";
    if (stat(j->spec->path, &sb) != 0 || (uint64_t)sb.st_size != j->key.size ||
        (int64_t)sb.st_mtim.tv_sec != j->key.mtime_s ||
        (int64_t)sb.st_mtim.tv_nsec != j->key.mtime_ns) {
        util_set_err(j->cache_why, sizeof j->cache_why, "list cache: %s changed while it was read: "
                 "not cached", j->spec->path);
        return;
    }
    if (listcache_save(j->cpath, &j->key, j->set, &meta, why, sizeof why) != 0) {
        util_set_err(j->cache_why, sizeof j->cache_why, "list cache: %s (lists load from their "
                 "files)", why);
        return;
    }
    j->cache = "built";
}

static void from_file(job *j)
{
    j->set = ipset_new(j->spec->name);
    if (!j->set) {
        snprintf(j->err, sizeof j->err, "out of memory");
        j->failed = 1;
        return;
    }
    if (ipset_load_file(j->set, j->spec->path, keep_warning, j, j->err, sizeof j->err) < 0) {
        j->failed = 1;
        return;
    }
    j->entries = ipset_count(j->set);
    if ((j->special && ipset_subtract(j->set, j->special, &j->cut) < 0) ||
        ipset_finalize(j->set) < 0) {
        snprintf(j->err, sizeof j->err, "out of memory loading %s", j->spec->path);
        j->failed = 1;
    }
}

static void run_job(job *j)
{
    if (j->cache_dir && from_cache(j))
        return;
    from_file(j);
    if (!j->failed && j->keyed)
        to_cache(j);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&p->lock);
        i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n)
            return NULL;
        run_job(&p->jobs[i]);
    }
}

static void run_pool(pool *p, int threads)
{
    pthread_t tid[16];
    int started = 0;
    if (threads > 16)
        threads = 16;
    for (int t = 1; t < threads && (size_t)t < p->n; t++)
        if (pthread_create(&tid[started], NULL, worker, p) == 0)
            started++;
    worker(p);                      /* the calling thread works too */
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

/* The cache's lines on diag: every cache file ignored, the first failure
 * to write one. */
static void report_cache(const job *jobs, size_t n, const kg_list_cache *cache)
{
    bool write_failed = false;
    for (size_t i = 0; cache && cache->diag && i < n; i++) {
        const job *j = &jobs[i];
        bool unwritten = j->cache && strcmp(j->cache, "unwritten") == 0;
        if (!j->cache_why[0] || (unwritten && write_failed))
            continue;
        write_failed |= unwritten;
        fprintf(cache->diag, "kguard: %s\n", j->cache_why);
    }
}

int lists_load_all(kg_lists *ls, const kg_list_spec *specs, size_t n, int threads,
                   const kg_list_cache *cache, kg_ipset_warn_fn warn, void *ud,
                   size_t *failed, char *err, size_t errlen)
{
    pool p = {calloc(n ? n : 1, sizeof(job)), n, 0, PTHREAD_MUTEX_INITIALIZER};
    kg_ipset *special = ipspecial_set();
    uint64_t recipe[2] = {0, 0};
    int rc = 0;

    if (!p.jobs || !special) {
        snprintf(err, errlen, "out of memory");
        *failed = 0;
        free(p.jobs);
        ipset_free(special);
        return -1;
    }
    if (cache && cache->dir) {
        recipe[0] = listcache_recipe(NULL);
        recipe[1] = listcache_recipe(special);
    }
    for (size_t i = 0; i < n; i++) {
        p.jobs[i].spec = &specs[i];
        p.jobs[i].cache_dir = cache ? cache->dir : NULL;
        if (specs[i].kind != KG_LIST_TRUSTED && !specs[i].literal)
            p.jobs[i].special = special;
        p.jobs[i].recipe = recipe[p.jobs[i].special != NULL];
    }
    run_pool(&p, threads);
    report_cache(p.jobs, n, cache);
    for (size_t i = 0; i < n; i++) {
        job *j = &p.jobs[i];
        kg_list l = {j->set, specs[i].kind, strdup(specs[i].name), strdup(specs[i].path),
                     j->entries, j->cut, specs[i].literal, j->cache};
        for (size_t w = 0; warn && w < j->n_warnings; w++)
            warn(ud, specs[i].path, j->warnings[w].line, j->warnings[w].msg);
        for (size_t w = 0; w < j->n_warnings; w++)
            free(j->warnings[w].msg);
        free(j->warnings);
        j->set = NULL;
        if (rc == 0 && !j->failed && lists_find(ls, specs[i].name)) {
            snprintf(j->err, sizeof j->err, "list name '%s' is given twice", specs[i].name);
            j->failed = 1;
        }
        if (rc == 0 && !j->failed && (!l.name || !l.path)) {
            snprintf(j->err, sizeof j->err, "out of memory");
            j->failed = 1;
        }
        if (rc == 0 && j->failed) {
            snprintf(err, errlen, "%s", j->err);
            *failed = i;
            rc = -1;
        }
        if (rc == 0 && push_list(ls, &l, err, errlen) == 0)
            continue;
        if (rc == 0) {
            *failed = i;
            rc = -1;
        }
        drop_list(&l);
    }
    free(p.jobs);
    ipset_free(special);
    return rc;
}

/* ---- reload guard ------------------------------------------------------- */

/* Fewer than half the entries of the previous version (none included). */
static bool shrank(const kg_list *now, const kg_list *before)
{
    return before->entries > 0 && now->entries * 2 < before->entries;
}

int lists_keep_shrunk(kg_lists *fresh, const kg_lists *old, bool accept, FILE *diag)
{
    int refused = 0;
    for (size_t i = 0; fresh && old && !accept && i < fresh->n; i++) {
        kg_list *l = &fresh->v[i];
        const kg_list *o = lists_find(old, l->name);
        kg_ipset *copy;
        if (!o || !shrank(l, o))
            continue;
        if (!(copy = ipset_copy(o->set)))
            return -1;
        fprintf(diag, "kguard: list %s (%s) shrank from %zu to %zu entries: refused, the previous "
                "version stays in use (--accept-shrunk-lists takes it)\n", l->name, l->path,
                o->entries, l->entries);
        ipset_free(l->set);
        l->set = copy;
        l->entries = o->entries;
        l->special = o->special;
        refused++;
    }
    return refused;
}

/* ---- reporting ---------------------------------------------------------- */

void lists_report_special(const kg_lists *ls, FILE *diag)
{
    for (size_t i = 0; ls && i < ls->n; i++) {
        const kg_list *l = &ls->v[i];
        if (l->kind == KG_LIST_TRUSTED || l->special.dropped + l->special.clipped == 0)
            continue;
        fprintf(diag, "kguard: list %s (%s): %zu entries; special-purpose ranges (private, "
                "loopback, link-local, ...) left out: %zu entries dropped, %zu clipped\n",
                l->name, l->path, l->entries, l->special.dropped, l->special.clipped);
    }
}

void lists_stats(const kg_lists *ls, FILE *diag)
{
    for (size_t i = 0; ls && i < ls->n; i++) {
        const kg_list *l = &ls->v[i];
        fprintf(diag, "kguard: stats: list %s entries=%zu special_dropped=%zu "
                "special_clipped=%zu literal=%s%s%s\n", l->name, l->entries, l->special.dropped,
                l->special.clipped, l->literal || l->kind == KG_LIST_TRUSTED ? "yes" : "no",
                l->cache ? " cache=" : "", l->cache ? l->cache : "");
    }
}
