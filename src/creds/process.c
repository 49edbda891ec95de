/* SPDX-License-Identifier: MIT */
/* process.c: the profile's credential_process, run without a shell, output capped. */
#include "creds/process.h"
#include "base/log.h"
#include "creds/json.h"
#include "creds/shlex.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The name in messages and on the credential set (botocore calls the method custom-process). */
#define SOURCE "credential_process"

/* A close-on-exec duplicate of fd numbered 3 or above, so that a host with 0, 1 or 2 closed
 * cannot make our dup2 onto 1 or 2 a no-op. Closes fd. */
static int high_fd(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    p[0] = high_fd(p[0]);
    p[1] = high_fd(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        if (p[0] >= 0)
            close(p[0]);
        if (p[1] >= 0)
            close(p[1]);
        return -1;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/*
 * Whether a line a failing credential_process wrote may carry a secret: the name of a secret
 * field (a command that dumps its JSON or its configuration to stderr), or the value of a secret
 * in the environment it inherited (a script that echoes its variables). Such a line stays out
 * of the error message, which reaches logs and users.
 */
static int mentions_secret(const char *line)
{
    static const char *const names[] = {
        "secretaccesskey", "secret_access_key", "sessiontoken",        "session_token",
        "security_token",  "x-amz-signature",   "x-amz-security-token"};
    static const char *const vars[] = {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                       "AWS_SECURITY_TOKEN", "PGPASSWORD"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasestr(line, names[i]) != NULL)
            return 1;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && strlen(v) >= 8 && strstr(line, v) != NULL)
            return 1;
    }
    return 0;
}

/* The first line of stderr, printable ASCII only and never a secret, for an error message. */
static void first_line(const dsql_buf *b, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len && o + 1 < len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c == '\n' || c == '\r') {
            if (o > 0)
                break;
            continue;
        }
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, len, "(nothing on stderr)");
    else if (mentions_secret(out))
        snprintf(out, len, "(its stderr is not shown: it mentions a secret)");
}

/* Reads the child's stdout (capped: over the cap is an error) and stderr (capped: the rest is
 * drained and dropped) until both close. Returns 0, 1 if stdout overflowed, -1 on error. */
static int collect(int out_fd, int err_fd, dsql_buf *out, dsql_buf *errb)
{
    struct pollfd pfd[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2;
    char chunk[4096];
    while (open_fds > 0) {
        int r = poll(pfd, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            ssize_t n = read(pfd[i].fd, chunk, sizeof chunk);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                pfd[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0) {
                if (out->len + (size_t)n > DSQL_PROCESS_STDOUT_MAX) {
                    dsql_wipe(chunk, sizeof chunk);
                    return 1;
                }
                dsql_buf_append(out, chunk, (size_t)n);
            } else if (errb->len < DSQL_PROCESS_STDERR_MAX) {
                size_t room = DSQL_PROCESS_STDERR_MAX - errb->len;
                dsql_buf_append(errb, chunk, (size_t)n < room ? (size_t)n : room);
            }
        }
    }
    dsql_wipe(chunk, sizeof chunk);
    return dsql_buf_failed(out) || dsql_buf_failed(errb) ? -1 : 0;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
}

int dsql_creds_process_run(const char *command, int64_t now, dsql_credentials **out,
                           dsql_error *err)
{
    int rc = DSQL_OK;
    dsql_words w = {NULL, 0};
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    pid_t pid = -1;
    dsql_buf stdout_buf, stderr_buf;
    dsql_buf_init(&stdout_buf);
    dsql_buf_init(&stderr_buf);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ready = 0, attr_ready = 0;

    dsql_error split_err = {0};
    rc = dsql_shlex_split(command, &w, &split_err);
    if (rc != DSQL_OK) {
        if (rc == DSQL_ERR_INVALID)
            rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                             SOURCE ": the command cannot be split into words (%s)",
                             split_err.message);
        else
            rc = dsql_seterr(err, rc, "%s", split_err.message);
        goto out;
    }
    if (w.argc == 0) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, SOURCE ": the command is empty");
        goto out;
    }
    if (make_pipe(out_pipe) != 0 || make_pipe(err_pipe) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_IO, SOURCE ": pipe: %s", strerror(errno));
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    fa_ready = 1;
    if (posix_spawnattr_init(&attr) != 0) {
        rc = dsql_seterr(err, DSQL_ERR_NOMEM, "out of memory");
        goto out;
    }
    attr_ready = 1;
    /* stdin from /dev/null, stdout and stderr to our pipes, nothing else inherited. */
    int fa_rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (fa_rc == 0)
        fa_rc = posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    if (fa_rc == 0)
        fa_rc = posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (fa_rc == 0)
        fa_rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* As Python's subprocess: default SIGPIPE and SIGXFSZ, and an empty signal mask, whatever
     * the host program did with them. */
    sigset_t def, empty;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGXFSZ);
    sigemptyset(&empty);
    if (fa_rc == 0)
        fa_rc = posix_spawnattr_setsigdefault(&attr, &def);
    if (fa_rc == 0)
        fa_rc = posix_spawnattr_setsigmask(&attr, &empty);
    if (fa_rc == 0)
        fa_rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (fa_rc != 0) {
        rc = dsql_seterr(err, DSQL_ERR_IO, SOURCE ": spawn setup: %s", strerror(fa_rc));
        goto out;
    }
    /* No shell: argv[0] is found on PATH like execvp, every word is passed as it is. */
    int sp = posix_spawnp(&pid, w.argv[0], &fa, &attr, w.argv, environ);
    if (sp != 0) {
        pid = -1;
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, SOURCE ": cannot run '%.200s': %s", w.argv[0],
                         strerror(sp));
        goto out;
    }
    close_fd(&out_pipe[1]);
    close_fd(&err_pipe[1]);
    int cr = collect(out_pipe[0], err_pipe[0], &stdout_buf, &stderr_buf);
    if (cr != 0)
        kill(pid, SIGKILL);
    close_fd(&out_pipe[0]);
    close_fd(&err_pipe[0]);
    int status = 0, waited;
    do {
        waited = waitpid(pid, &status, 0);
    } while (waited < 0 && errno == EINTR);
    pid = -1;
    if (cr == 1) {
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                         SOURCE ": '%.200s' printed more than %d KiB; it was stopped", w.argv[0],
                         DSQL_PROCESS_STDOUT_MAX / 1024);
        goto out;
    }
    if (cr < 0) {
        rc = dsql_seterr(err, DSQL_ERR_IO, SOURCE ": reading the output failed");
        goto out;
    }
    char line[200];
    if (waited < 0) {
        /* The host reaped our child (SIGCHLD ignored or a reaper of its own): the status is
         * lost, so let the output decide. */
        dsql_log(DSQL_LOG_DEBUG, SOURCE ": exit status unavailable (%s)", strerror(errno));
    } else if (WIFSIGNALED(status)) {
        first_line(&stderr_buf, line, sizeof line);
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, SOURCE ": '%.200s' was killed by signal %d: %s",
                         w.argv[0], WTERMSIG(status), line);
        dsql_wipe(line, sizeof line);
        goto out;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        first_line(&stderr_buf, line, sizeof line);
        rc = dsql_seterr(err, DSQL_ERR_CREDENTIALS, SOURCE ": '%.200s' exited with status %d: %s",
                         w.argv[0], WEXITSTATUS(status), line);
        dsql_wipe(line, sizeof line);
        goto out;
    }
    dsql_credentials *c = NULL;
    rc = dsql_json_parse_credentials(stdout_buf.data, stdout_buf.len, &dsql_json_fields_process,
                                     SOURCE, &c, err);
    if (rc != DSQL_OK)
        goto out;
    /* botocore refreshes such credentials at once, gets them again, and fails. */
    int64_t exp = dsql_credentials_expiration(c);
    if (exp != 0 && exp <= now) {
        char when[32];
        fmt_time(exp, when, sizeof when);
        dsql_credentials_free(c);
        rc =
            dsql_seterr(err, DSQL_ERR_CREDENTIALS,
                        SOURCE ": the credentials '%.200s' printed expired at %s", w.argv[0], when);
        goto out;
    }
    *out = c;
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close_fd(&out_pipe[0]);
    close_fd(&out_pipe[1]);
    close_fd(&err_pipe[0]);
    close_fd(&err_pipe[1]);
    if (fa_ready)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ready)
        posix_spawnattr_destroy(&attr);
    dsql_buf_cleanup(&stdout_buf);
    dsql_buf_cleanup(&stderr_buf);
    dsql_shlex_free(&w);
    return rc;
}

int dsql_creds_source_process(const dsql_creds_ctx *ctx, dsql_credentials **out, dsql_error *err)
{
    /* botocore reads it from session.full_config: the credentials file's section overrides. */
    const char *cmd = dsql_aws_profile_get(ctx->files, ctx->profile, "credential_process", NULL);
    if (cmd == NULL)
        return dsql_seterr(err, DSQL_ERR_NO_CREDENTIALS, "no credential_process");
    dsql_log(DSQL_LOG_DEBUG, "profile '%s': running its credential_process", ctx->profile);
    return dsql_creds_process_run(cmd, ctx->now, out, err);
}
