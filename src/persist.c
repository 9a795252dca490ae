/*
 * persist: reading and writing the --state file (see persist.h).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kguard/persist.h"
#include "util.h"

#define STATE_MAX (1u << 30)

/* Rename path to path.corrupt-<epoch>[.N], never over an existing file. */
static int move_aside(const char *path, char *to, size_t n)
{
    struct stat st;
    long long now = (long long)time(NULL);
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(to, n, "%s.corrupt-%lld", path, now);
        else
            snprintf(to, n, "%s.corrupt-%lld.%d", path, now, i);
        if (stat(to, &st) != 0 && errno == ENOENT)
            return rename(path, to);
    }
    errno = EEXIST;
    return -1;
}

/* Is name "<base>.tmp.<pid>" (persist_save's temporary file) of a process
 * that no longer runs (or of this one, which is not saving yet)? */
static bool stale_temp(const char *name, const char *base)
{
    size_t n = strlen(base);
    const char *digits = name + n + 5;
    char *end;
    long pid;
    if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0 ||
        *digits < '0' || *digits > '9')
        return false;
    errno = 0;
    pid = strtol(digits, &end, 10);
    if (*end || errno || pid <= 0 || pid > INT_MAX)
        return false;
    return pid == (long)getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/* Remove the temporary files that a save killed before its rename left
 * beside path.  Returns how many were removed. */
static int clean_temps(const char *path)
{
    char *d = strdup(path), *b = strdup(path), full[4400];
    const char *dir, *base;
    struct dirent *de;
    DIR *dh = NULL;
    int n = 0;
    if (!d || !b)
        goto cleanup;
    dir = dirname(d);
    base = basename(b);
    if (!(dh = opendir(dir)))
        goto cleanup;
    while ((de = readdir(dh)) != NULL) {
        if (!stale_temp(de->d_name, base))
            continue;
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        if (unlink(full) == 0)
            n++;
    }
cleanup:
    if (dh)
        closedir(dh);
    free(d);
    free(b);
    return n;
}

static const char *check_doc(const cJSON *doc)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
    if (!cJSON_IsObject(doc))
        return "not a JSON object";
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, KG_STATE_FORMAT) != 0)
        return "not a kguard state file";
    if (!cJSON_IsNumber(ver) || ver->valueint != KG_STATE_VERSION)
        return "a state file of another format version";
    return NULL;
}

/* The tables and findings of a parsed document: "" in why when loaded
 * (the count of entries dropped for numbers out of range in *dropped). */
static void load_doc(const cJSON *doc, kg_state *st, kg_agg *agg, char *why, size_t n,
                     int *dropped)
{
    const char *bad;
    int a, b = 0;
    *dropped = 0;
    if (!doc) {
        snprintf(why, n, "it is not valid JSON");
    } else if ((bad = check_doc(doc)) != NULL) {
        snprintf(why, n, "it is %s", bad);
    } else if ((a = state_from_json(st, cJSON_GetObjectItemCaseSensitive(doc, "tables"), why, n)) >= 0 &&
               (b = agg_from_json(agg, cJSON_GetObjectItemCaseSensitive(doc, "findings"), why, n)) >= 0) {
        *why = '\0';
        *dropped = a + b;
    }
}

int persist_load(const char *path, kg_state *st, kg_agg *agg, char *msg,
                 size_t msglen)
{
    size_t len = 0;
    int err, temps = clean_temps(path), dropped = 0;
    char *text = util_read_file(path, STATE_MAX, &len, &err), why[256] = "", aside[4200];
    cJSON *doc = NULL;

    if (!text && err == ENOENT)
        goto loaded; /* first run */
    if (!text) {
        snprintf(msg, msglen, "cannot read state file %s: %s", path, strerror(err));
        return -1;
    }
    doc = cJSON_ParseWithLength(text, len);
    free(text);
    load_doc(doc, st, agg, why, sizeof why, &dropped);
    cJSON_Delete(doc);
    if (!*why)
        goto loaded;
    if (move_aside(path, aside, sizeof aside) < 0) {
        snprintf(msg, msglen, "state file %s is unusable (%s) and cannot be moved aside: %s",
                 path, why, strerror(errno));
        return -1;
    }
    snprintf(msg, msglen, "state file %s is unusable (%s); kept it as %s and started fresh",
             path, why, aside);
    return 1;
loaded:
    if (!temps && !dropped)
        return 0;
    snprintf(msg, msglen, "state file %s: %d entr%s with a number out of range dropped; "
             "%d temporary file%s of an interrupted save removed", path, dropped,
             dropped == 1 ? "y" : "ies", temps, temps == 1 ? "" : "s");
    return 2;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = -1;
    if (!copy)
        return -1;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);
    return rc;
}

int persist_check_writable(const char *path, char *msg, size_t msglen)
{
    char *copy;
    if (!*path) {
        snprintf(msg, msglen, "the state file name is empty");
        return -1;
    }
    copy = strdup(path);
    const char *dir;
    int ok;
    if (!copy) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    dir = dirname(copy);
    ok = access(dir, W_OK | X_OK) == 0;
    if (!ok)
        snprintf(msg, msglen, "cannot write the state file %s: directory %s: %s", path,
                 dir, strerror(errno));
    free(copy);
    return ok ? 0 : -1;
}

int persist_save(const char *path, const kg_state *st, const kg_agg *agg,
                 char *msg, size_t msglen)
{
    cJSON *doc = cJSON_CreateObject();
    char *text = NULL, tmp[4200] = "";
    int fd = -1, rc = -1;

    if (!doc)
        goto oom;
    cJSON_AddStringToObject(doc, "format", KG_STATE_FORMAT);
    cJSON_AddNumberToObject(doc, "version", KG_STATE_VERSION);
    cJSON_AddNumberToObject(doc, "saved_at", (double)time(NULL));
    cJSON_AddItemToObject(doc, "tables", state_to_json(st));
    cJSON_AddItemToObject(doc, "findings", agg_to_json(agg));
    if (!(text = cJSON_PrintUnformatted(doc)))
        goto oom;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
        fsync(fd) < 0) {
        snprintf(msg, msglen, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(msg, msglen, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(msg, msglen, "cannot replace %s: %s", path, strerror(errno));
        goto cleanup;
    }
    sync_dir(path);
    rc = 0;
    goto cleanup;
oom:
    snprintf(msg, msglen, "out of memory saving state");
cleanup:
    if (fd >= 0) {
        close(fd);
    }
    if (rc < 0 && *tmp)
        unlink(tmp);
    cJSON_free(text);
    cJSON_Delete(doc);
    return rc;
}
