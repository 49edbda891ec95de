/* SPDX-License-Identifier: MIT */
/* cmd_start.c: `dsqlauth-local start`: PostgreSQL, certificates, keys, then the TLS front. */
#include "cmd_start.h"

#include "cli.h"
#include "front.h"
#include "keys.h"
#include "pgctl.h"
#include "pgmodule.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    return ntohs(sa.sin_port);
}

static int serve(const settings *s, const pgctl *pg, int lfd, int ready_fd)
{
    char keys_path[600], msg[512];
    statedir_path(s, "keys", keys_path, sizeof keys_path);
    front_config cfg = {
        .endpoint = s->endpoint,
        .region = s->region,
        .state_dir = s->dir,
        .keys_path = keys_path,
        .strict = s->strict,
        .max_lifetime = s->max_lifetime,
        .handshake_timeout = s->handshake_timeout > 0 ? s->handshake_timeout : 10,
        .max_failed_logins = s->max_failed_logins,
        .failed_login_window = s->failed_login_window > 0 ? s->failed_login_window : 60,
        .max_txn_age = s->max_txn_age,
        .conn_rate = s->conn_rate,
        .conn_burst = s->conn_burst,
        .ready_fd = ready_fd,
    };
    if (s->inject_conflict[0] != '\0' &&
        occ_inject_parse(s->inject_conflict, &cfg.inject, msg, sizeof msg) != 0) {
        fprintf(stderr, "dsqlauth-local: %s\n", msg);
        return 1;
    }
    if (snprintf(cfg.backend_socket, sizeof cfg.backend_socket, "%s/.s.PGSQL.%d", pg->sockdir,
                 PG_BACKEND_PORT) >= (int)sizeof cfg.backend_socket) {
        fprintf(stderr, "dsqlauth-local: socket path too long\n");
        return 1;
    }
    if (front_serve(lfd, &cfg, msg, sizeof msg) != 0) {
        fprintf(stderr, "dsqlauth-local: %s\n", msg);
        return 1;
    }
    return 0;
}

/*
 * Each client holds two descriptors (its socket and the backend's), so the usual soft limit of
 * 1024 would refuse clients at about 500: the soft limit goes up to the hard one (PostgreSQL
 * inherits it and keeps to its own max_files_per_process).
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;
    if (want <= rl.rlim_cur)
        return;
    rl.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * Where the backend module is: $DSQLAUTH_LOCAL_PGMODULE, else beside this executable (a build
 * tree), else where `meson install` puts it.
 */
static void module_source(char *out, size_t n)
{
    const char *e = getenv("DSQLAUTH_LOCAL_PGMODULE");
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (e != NULL && *e != '\0') {
        snprintf(out, n, "%s", e);
        return;
    }
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(out, n, "%.900s/%s", exe, PGMODULE_FILE);
            if (access(out, R_OK) == 0)
                return;
        }
    }
    snprintf(out, n, "%s/%s", DSQL_LOCAL_MODULE_DIR, PGMODULE_FILE);
}

int cmd_start(settings *s, const settings *running, int foreground, int explicit_port)
{
    char msg[1024], path[600];
    pgctl pg;
    raise_fd_limit();
    if (statedir_make(s) != 0)
        return local_die("cannot create the state directory %s", s->dir);
    if (pgctl_init(&pg, s->dir, msg, sizeof msg) != 0)
        return local_die("%s", msg);

    pid_t fp = statedir_front_pid(s);
    if (fp > 0 && pgctl_running(&pg) > 0) {
        /* Harmless: the roles of this command line are made, the rest must match. */
        if (running != NULL &&
            (strcmp(running->endpoint, s->endpoint) != 0 || running->strict != s->strict ||
             running->backend_version != s->backend_version ||
             running->max_lifetime != s->max_lifetime || running->port != s->port))
            return local_die("already running in %s with other settings (%s port %d%s, "
                             "--max-lifetime %lld); `dsqlauth-local stop` first to change them",
                             s->dir, running->endpoint, running->port,
                             running->strict ? ", --strict" : "", running->max_lifetime);
        const char *users[LOCAL_MAX_USERS];
        for (size_t i = 0; i < s->nusers; i++)
            users[i] = s->users[i];
        pg.strict = s->strict;
        if (pgctl_setup(&pg, users, s->nusers, msg, sizeof msg) != 0)
            return local_die("%s", msg);
        printf("dsqlauth-local: already running on 127.0.0.1:%d (%s)\n", s->port, s->endpoint);
        return 0;
    }
    if (fp > 0) { /* a front without its PostgreSQL: restart both */
        kill(fp, SIGTERM);
        for (int i = 0; i < 50 && statedir_alive(fp); i++)
            usleep(100000);
    }
    if (s->strict) {
        char module[1024];
        module_source(module, sizeof module);
        if (pgctl_strict(&pg, s->dir, module, msg, sizeof msg) != 0)
            return local_die("%s", msg);
        pg.backend_version = s->backend_version;
    }
    if (pgctl_ensure_cluster(&pg, msg, sizeof msg) != 0 || pgctl_start(&pg, msg, sizeof msg) != 0)
        return local_die("%s", msg);
    const char *users[LOCAL_MAX_USERS];
    for (size_t i = 0; i < s->nusers; i++)
        users[i] = s->users[i];
    if (pgctl_setup(&pg, users, s->nusers, msg, sizeof msg) != 0)
        return local_die("%s", msg);
    if (tls_ensure_certs(s->dir, s->endpoint, msg, sizeof msg) != 0)
        return local_die("%s", msg);
    statedir_path(s, "keys", path, sizeof path);
    if (keys_ensure(path, msg, sizeof msg) != 0)
        return local_die("%s", msg);

    int lfd = s->port > 0 ? listen_on(s->port) : -1;
    if (lfd < 0 && explicit_port) {
        snprintf(msg, sizeof msg, "cannot listen on 127.0.0.1:%d: %s", s->port, strerror(errno));
        return local_die("%s", msg);
    }
    if (lfd < 0)
        lfd = listen_on(0);
    if (lfd < 0)
        return local_die("cannot listen on 127.0.0.1: %s", strerror(errno));
    s->port = bound_port(lfd);
    if (statedir_save(s) != 0)
        return local_die("cannot write %s/state", s->dir);

    if (foreground) {
        statedir_write_pid(s, getpid());
        fprintf(stderr, "dsqlauth-local: serving %s on 127.0.0.1:%d\n", s->endpoint, s->port);
        int rc = serve(s, &pg, lfd, -1);
        pgctl_stop(&pg, msg, sizeof msg);
        statedir_path(s, "front.pid", path, sizeof path);
        unlink(path);
        return rc;
    }

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return local_die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return local_die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        setsid();
        statedir_path(s, "front.log", path, sizeof path);
        int log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        setenv("DSQLAUTH_LOG", getenv("DSQLAUTH_LOG") ? getenv("DSQLAUTH_LOG") : "info", 1);
        statedir_write_pid(s, getpid());
        _exit(serve(s, &pg, lfd, pfd[1]));
    }
    close(pfd[1]);
    close(lfd);
    char ok = 0;
    struct pollfd w = {.fd = pfd[0], .events = POLLIN};
    if (poll(&w, 1, 15000) <= 0 || read(pfd[0], &ok, 1) != 1 || ok != '1') {
        close(pfd[0]);
        return local_die("the TLS front did not start; see %s/front.log", s->dir);
    }
    close(pfd[0]);
    printf("dsqlauth-local: running: %s on 127.0.0.1:%d (state in %s)\n"
           "  eval \"$(dsqlauth-local env%s%s)\" then psql with a token as the password\n",
           s->endpoint, s->port, s->dir, getenv("DSQLAUTH_LOCAL_DIR") ? "" : " --dir ",
           getenv("DSQLAUTH_LOCAL_DIR") ? "" : s->dir);
    return 0;
}
