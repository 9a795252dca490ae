/*
 * measure: run a command and report its wall time, CPU time and peak RSS.
 *
 *   measure [--stdin FILE | --stdin-cmd SHELLCMD] [--stdout FILE]
 *           [--stderr FILE] [--rss-samples FILE] [--interval MS] -- CMD ARGS...
 *
 * Prints one line on stdout:
 *   wall_s=W user_s=U sys_s=S maxrss_kb=K exit=E
 * Wall time is CLOCK_MONOTONIC from just before fork to the child's exit
 * (seen through a pidfd, so sampling never delays it); user/sys/maxrss come
 * from wait4() for that child alone (ru_maxrss: its peak resident set).
 * --stdin-cmd runs SHELLCMD (sh -c) in a second child whose stdout is the
 * command's stdin, e.g. "cat f f f" or a generator; its own usage is not
 * counted.  --rss-samples writes "elapsed_s rss_kb" lines from
 * /proc/PID/status every --interval ms (default 200).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void redirect(int fd, const char *path, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0) {
        perror(path);
        _exit(127);
    }
    dup2(f, fd);
    close(f);
}

static void usage(void)
{
    fputs("usage: measure [--stdin FILE | --stdin-cmd CMD] [--stdout FILE] [--stderr FILE]\n"
          "               [--rss-samples FILE] [--interval MS] -- CMD ARGS...\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *in = NULL, *in_cmd = NULL, *out = "/dev/null", *err = NULL, *samples = NULL;
    long interval_ms = 200;
    int i, pipefd[2] = {-1, -1}, status = 0, pidfd;
    pid_t feeder = -1, child;
    FILE *sf = NULL;
    struct rusage ru;
    double t0, t1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--stdin") == 0)
            in = argv[++i];
        else if (strcmp(argv[i], "--stdin-cmd") == 0)
            in_cmd = argv[++i];
        else if (strcmp(argv[i], "--stdout") == 0)
            out = argv[++i];
        else if (strcmp(argv[i], "--stderr") == 0)
            err = argv[++i];
        else if (strcmp(argv[i], "--rss-samples") == 0)
            samples = argv[++i];
        else if (strcmp(argv[i], "--interval") == 0)
            interval_ms = strtol(argv[++i], NULL, 10);
        else
            usage();
    }
    if (i >= argc)
        usage();
    if (samples && !(sf = fopen(samples, "w"))) {
        perror(samples);
        return 2;
    }
    if (in_cmd) {
        if (pipe(pipefd) < 0) {
            perror("pipe");
            return 2;
        }
        feeder = fork();
        if (feeder == 0) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            close(pipefd[1]);
            execl("/bin/sh", "sh", "-c", in_cmd, (char *)NULL);
            _exit(127);
        }
    }
    t0 = now();
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        if (in_cmd) {
            dup2(pipefd[0], 0);
            close(pipefd[0]);
            close(pipefd[1]);
        } else if (in) {
            redirect(0, in, O_RDONLY);
        }
        redirect(1, out, O_WRONLY | O_CREAT | O_TRUNC);
        if (err)
            redirect(2, err, O_WRONLY | O_CREAT | O_TRUNC);
        execvp(argv[i], argv + i);
        perror(argv[i]);
        _exit(127);
    }
    if (in_cmd) {
        close(pipefd[0]);
        close(pipefd[1]);
    }
    pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (pidfd >= 0) {
        struct pollfd p = {pidfd, POLLIN, 0};
        for (;;) {
            int r = poll(&p, 1, sf ? (int)interval_ms : -1);
            if (r > 0)
                break;
            if (r < 0 && errno != EINTR)
                break;
            if (r == 0 && sf)
                fprintf(sf, "%.3f %ld\n", now() - t0, rss_kb(child));
        }
    }
    t1 = now();
    if (wait4(child, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    if (pidfd < 0)
        t1 = now();
    if (feeder > 0) {
        int fs;
        waitpid(feeder, &fs, 0);
    }
    if (sf)
        fclose(sf);
    printf("wall_s=%.6f user_s=%.3f sys_s=%.3f maxrss_kb=%ld exit=%d\n", t1 - t0,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
