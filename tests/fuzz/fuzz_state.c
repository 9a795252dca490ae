/*
 * fuzz_state: the --state file loader.  The bytes are loaded as a state
 * file by persist_load (from a private directory, as kguard does at start:
 * a file it cannot use is moved aside), and the tables and findings that
 * loaded are saved and loaded back, which must then succeed unchanged in
 * size.
 */
#include <dirent.h>
#include <stdlib.h>
#include "kguard/aggregate.h"
#include "kguard/persist.h"
#include "kguard/state.h"
#include "fuzz_util.h"

static char dir[64];

static void noop_emit(void *ud, const char *line, bool archived)
{
    (void)ud;
    (void)line;
    (void)archived;
}

/* Remove what a load left: the file, or the file moved aside. */
static void clear_dir(void)
{
    DIR *dh = opendir(dir);
    struct dirent *de;
    char p[400];
    if (!dh)
        abort();
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(dh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128], msg[4600];
    kg_state *st = state_new(), *st2 = NULL;
    kg_agg *agg = agg_new(0, 0, noop_emit, NULL), *agg2 = NULL;
    FILE *f;
    int rc;
    if (!*dir) {
        /* tmpfs when there is one: a save fsyncs */
        snprintf(dir, sizeof dir, "%s/kguard-fuzz-state-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(path, sizeof path, "%s/state.json", dir);
    if (!st || !agg || !(f = fopen(path, "wb")))
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    rc = persist_load(path, st, agg, msg, sizeof msg);
    if (rc == 0 || rc == 2) {
        if (persist_save(path, st, agg, msg, sizeof msg) != 0)
            abort();
        st2 = state_new();
        agg2 = agg_new(0, 0, noop_emit, NULL);
        if (persist_load(path, st2, agg2, msg, sizeof msg) != 0 || agg_size(agg2) != agg_size(agg))
            abort();   /* what was saved does not load back as it was */
    }
    state_free(st);
    state_free(st2);
    agg_free(agg);
    agg_free(agg2);
    clear_dir();
    return 0;
}
