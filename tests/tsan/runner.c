/* SPDX-License-Identifier: MIT */
/*
 * runner.c: runs the tests registered through the stand-in criterion.h (ThreadSanitizer builds
 * only; see there). Each test runs in a child process with the suite's and the test's .init
 * and .fini around it and an alarm for its timeout; results are TAP lines on stdout, as
 * `criterion --tap` prints them. A test that skips exits with CRL_SKIP.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static struct crl_test *tests;
static struct crl_suite *suites;
static const struct crl_test *current;
static int redirected_fd = -1;

void crl_register_test(struct crl_test *t)
{
    struct crl_test **p = &tests; /* keep the order of definition */
    while (*p != NULL)
        p = &(*p)->next;
    *p = t;
}

void crl_register_suite(struct crl_suite *s)
{
    s->next = suites;
    suites = s;
}

static const struct crl_opts *suite_opts(const char *name)
{
    for (const struct crl_suite *s = suites; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s->opts;
    return NULL;
}

static void run_fini(void)
{
    static int done;
    if (done++ || current == NULL)
        return;
    const struct crl_opts *so = suite_opts(current->suite);
    if (current->opts->fini != NULL)
        current->opts->fini();
    if (so != NULL && so->fini != NULL)
        so->fini();
}

void crl_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    char msg[2048] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The message comes with a leading space (criterion.h's " " prefix). */
    const char *m = msg[0] == ' ' ? msg + 1 : msg;
    fprintf(stderr, "%s:%d: assertion failed: %s%s%s\n", file, line, expr, m[0] ? ": " : "", m);
    fflush(stderr);
    run_fini();
    exit(1); /* as Criterion's worker ends: atexit handlers (the tests' clean-ups) run */
}

void crl_log(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cr_redirect_stderr(void)
{
    char path[] = "/tmp/crl-stderr-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("cr_redirect_stderr");
        _exit(1);
    }
    unlink(path);
    fflush(stderr);
    redirected_fd = fd;
    dup2(fd, STDERR_FILENO);
}

FILE *cr_get_redirected_stderr(void)
{
    char path[64];
    fflush(stderr);
    if (redirected_fd < 0)
        return NULL;
    snprintf(path, sizeof path, "/proc/self/fd/%d", redirected_fd);
    return fopen(path, "r"); /* its own offset: reads from the start */
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "test timed out\n";
    ssize_t w = write(STDERR_FILENO, m, sizeof m - 1);
    (void)w;
    _exit(2);
}

static int run_one(const struct crl_test *t)
{
    const struct crl_opts *so = suite_opts(t->suite);
    double timeout = t->opts->timeout > 0 ? t->opts->timeout : so != NULL ? so->timeout : 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        current = t;
        signal(SIGALRM, on_alarm);
        if (timeout > 0)
            alarm((unsigned)timeout + 1);
        if (so != NULL && so->init != NULL)
            so->init();
        if (t->opts->init != NULL)
            t->opts->init();
        t->fn();
        run_fini();
        exit(0); /* as Criterion's worker ends: atexit handlers (the tests' clean-ups) run */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "%s::%s: killed by signal %d\n", t->suite, t->name, WTERMSIG(status));
    return 128 + WTERMSIG(status);
}

static int run_all(void)
{
    int n = 0, failed = 0;
    for (const struct crl_test *t = tests; t != NULL; t = t->next)
        n++;
    printf("TAP version 13\n1..%d\n", n);
    int i = 0;
    for (const struct crl_test *t = tests; t != NULL; t = t->next) {
        i++;
        const struct crl_opts *so = suite_opts(t->suite);
        if (t->opts->disabled || (so != NULL && so->disabled)) {
            printf("ok %d - %s::%s # SKIP disabled\n", i, t->suite, t->name);
            continue;
        }
        int rc = run_one(t);
        printf("%s %d - %s::%s\n", rc == 0 ? "ok" : "not ok", i, t->suite, t->name);
        fflush(stdout);
        failed += rc != 0;
    }
    return failed;
}

struct criterion_test_set *criterion_initialize(void)
{
    return (struct criterion_test_set *)&tests;
}

int criterion_handle_args(int argc, char *argv[], bool handle_unknown_arg)
{
    (void)argc;
    (void)argv; /* --tap and --jobs=1 are what this runner does anyway */
    (void)handle_unknown_arg;
    return 1;
}

int criterion_run_all_tests(struct criterion_test_set *set)
{
    (void)set;
    return run_all() == 0;
}

void criterion_finalize(struct criterion_test_set *set)
{
    (void)set;
}

/* Weak, as Criterion's: a test program may bring its own main (see criterion.h). */
__attribute__((weak)) int main(int argc, char **argv)
{
    criterion_handle_args(argc, argv, true);
    return run_all() ? 1 : 0;
}
