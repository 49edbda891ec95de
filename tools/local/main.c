/* SPDX-License-Identifier: MIT */
/* main.c: `dsqlauth-local start|stop|status|env`, the lifecycle of the local DSQL endpoint. */
#include "front.h"
#include "keys.h"
#include "pgctl.h"
#include "tls.h"
#include "sign/endpoint.h"

#include "dsqlauth.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CLUSTER_ID "dsqlauthlocaltestcluster00"
#define DEFAULT_REGION "us-east-1"
#define DEFAULT_LIFETIME 3600
#define MAX_USERS 16
#define STATUS_NOT_RUNNING 3 /* as pg_ctl status */

typedef struct settings {
    char dir[512];
    char cluster_id[64];
    char region[DSQL_REGION_MAX];
    char endpoint[DSQL_HOST_MAX];
    int port;
    int strict;
    long long max_lifetime;
    int handshake_timeout;
    int max_failed_logins;
    int failed_login_window;
    size_t nusers;
    char users[MAX_USERS][64];
} settings;

static void usage(FILE *f)
{
    fputs("Usage: dsqlauth-local COMMAND [OPTIONS]\n"
          "A local Aurora DSQL-like endpoint: PostgreSQL behind a TLS front that verifies IAM\n"
          "auth tokens (SigV4) against a local keys file.\n\n"
          "Commands:\n"
          "  start    initialise on first use, start PostgreSQL and the TLS front\n"
          "  stop     stop both; no process is left behind\n"
          "  status   exit 0 when running, 3 when not (as pg_ctl)\n"
          "  env      print `export` lines: eval \"$(dsqlauth-local env)\"\n"
          "  token    print a token signed with the keys file's first pair (for scripts;\n"
          "           --token-user NAME (default admin), --expires S, --signing-time UNIX)\n\n"
          "Options:\n"
          "  --dir DIR            state directory (default $DSQLAUTH_LOCAL_DIR, else\n"
          "                       $XDG_RUNTIME_DIR/dsqlauth-local, else /tmp/dsqlauth-local-$UID)\n"
          "  --port N             TCP port on 127.0.0.1 (default: the last one, else a free one)\n"
          "  --cluster-id ID      26 characters [a-z0-9] (default " DEFAULT_CLUSTER_ID ")\n"
          "  --region R           (default " DEFAULT_REGION ")\n"
          "  --user NAME          a further non-admin role (repeatable; `app` always exists)\n"
          "  --strict             reject what Aurora DSQL rejects (SQLSTATEs as DSQL's)\n"
          "  --max-lifetime S     close sessions after S seconds like DSQL (default 3600; 0: never)\n"
          "  --handshake-timeout S  seconds a client has for TLS, startup and password (10)\n"
          "  --max-failed-logins N  after N failed logins from one client address within the\n"
          "                       window, refuse its further attempts (SQLSTATE 53300) without\n"
          "                       verifying them until the window closes (default 10; 0: no limit)\n"
          "  --failed-login-window S  the window, in seconds from the first failure (default 60)\n"
          "  --foreground         run the front in the foreground (logs to stderr)\n"
          "  --help, --version\n\n"
          "`start` raises the open-files soft limit to the hard limit (a client holds two\n"
          "descriptors); PostgreSQL behind it allows 1000 connections.\n",
          f);
}

DSQL_PRINTF(1, 2)
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dsqlauth-local: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static void default_dir(char *out, size_t n)
{
    const char *e = getenv("DSQLAUTH_LOCAL_DIR");
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (e != NULL && *e != '\0')
        snprintf(out, n, "%s", e);
    else if (x != NULL && *x == '/' && geteuid() != 0 && access(x, W_OK) == 0)
        snprintf(out, n, "%s/dsqlauth-local", x);
    else
        snprintf(out, n, "/tmp/dsqlauth-local-%u", (unsigned)getuid());
}

static void path_in(const settings *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", s->dir, name);
}

/* ---- the state file: what the last start used -------------------------------------------- */

static int state_load(settings *s)
{
    char path[600];
    path_in(s, "state", path, sizeof path);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq++ = '\0';
        if (strcmp(line, "cluster_id") == 0)
            snprintf(s->cluster_id, sizeof s->cluster_id, "%s", eq);
        else if (strcmp(line, "region") == 0)
            snprintf(s->region, sizeof s->region, "%s", eq);
        else if (strcmp(line, "port") == 0)
            s->port = atoi(eq);
        else if (strcmp(line, "strict") == 0)
            s->strict = atoi(eq);
        else if (strcmp(line, "max_lifetime") == 0)
            s->max_lifetime = atoll(eq);
        else if (strcmp(line, "handshake_timeout") == 0)
            s->handshake_timeout = atoi(eq);
        else if (strcmp(line, "max_failed_logins") == 0)
            s->max_failed_logins = atoi(eq);
        else if (strcmp(line, "failed_login_window") == 0)
            s->failed_login_window = atoi(eq);
        else if (strcmp(line, "user") == 0 && s->nusers < MAX_USERS)
            snprintf(s->users[s->nusers++], sizeof s->users[0], "%s", eq);
    }
    fclose(f);
    return 0;
}

static int state_save(const settings *s)
{
    char path[600], tmp[620];
    path_in(s, "state", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (f == NULL)
        return -1;
    fprintf(f, "cluster_id=%s\nregion=%s\nport=%d\nstrict=%d\nmax_lifetime=%lld\n"
               "handshake_timeout=%d\nmax_failed_logins=%d\nfailed_login_window=%d\n",
            s->cluster_id, s->region, s->port, s->strict, s->max_lifetime, s->handshake_timeout,
            s->max_failed_logins, s->failed_login_window);
    for (size_t i = 0; i < s->nusers; i++)
        fprintf(f, "user=%s\n", s->users[i]);
    return (fclose(f) == 0 && rename(tmp, path) == 0) ? 0 : -1;
}

/* Whether pid runs (a zombie waiting for init to reap it does not count). */
static int alive(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren != NULL && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

static pid_t front_pid(const settings *s)
{
    char path[600];
    path_in(s, "front.pid", path, sizeof path);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (!alive((pid_t)pid))
        return 0;
    /* A stale pid file could name an unrelated process: check it is one of ours. */
    char comm[64], cpath[64];
    snprintf(cpath, sizeof cpath, "/proc/%ld/cmdline", pid);
    FILE *c = fopen(cpath, "re");
    size_t n = c ? fread(comm, 1, sizeof comm - 1, c) : 0;
    if (c)
        fclose(c);
    comm[n] = '\0';
    return strstr(comm, "dsqlauth-local") != NULL ? (pid_t)pid : 0;
}

/* ---- start --------------------------------------------------------------------------------- */

static int valid_role(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 63 || strcmp(u, "admin") == 0 || strncmp(u, "pg_", 3) == 0)
        return 0;
    if (!((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '_'))
            return 0;
    return 1;
}

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

static int make_dir(const settings *s)
{
    char p[600];
    snprintf(p, sizeof p, "%s", s->dir);
    for (char *q = p + 1; *q != '\0'; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return -1;
    /* As root the postgres user must pass through to pgdata/ and run/ (files here stay 0600). */
    return chmod(p, geteuid() == 0 ? 0711 : 0700);
}

static void write_pid(const settings *s, pid_t pid)
{
    char path[600];
    path_in(s, "front.pid", path, sizeof path);
    FILE *f = fopen(path, "we");
    if (f != NULL) {
        fprintf(f, "%ld\n", (long)pid);
        fclose(f);
    }
}

static int serve(const settings *s, const pgctl *pg, int lfd, int ready_fd)
{
    char keys_path[600], msg[512];
    path_in(s, "keys", keys_path, sizeof keys_path);
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
        .ready_fd = ready_fd,
    };
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
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? (1u << 20)
                                                                             : rl.rlim_max;
    if (want <= rl.rlim_cur)
        return;
    rl.rlim_cur = want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

static int cmd_start(settings *s, const settings *running, int foreground, int explicit_port)
{
    char msg[1024], path[600];
    pgctl pg;
    raise_fd_limit();
    if (make_dir(s) != 0)
        return die("cannot create the state directory %s", s->dir);
    if (pgctl_init(&pg, s->dir, msg, sizeof msg) != 0)
        return die("%s", msg);

    pid_t fp = front_pid(s);
    if (fp > 0 && pgctl_running(&pg) > 0) {
        /* Harmless: the roles of this command line are made, the rest must match. */
        const char *users[MAX_USERS];
        for (size_t i = 0; i < s->nusers; i++)
            users[i] = s->users[i];
        if (pgctl_setup_roles(&pg, users, s->nusers, msg, sizeof msg) != 0)
            return die("%s", msg);
        if (running != NULL &&
            (strcmp(running->endpoint, s->endpoint) != 0 || running->strict != s->strict ||
             running->max_lifetime != s->max_lifetime || running->port != s->port))
            return die("already running in %s with other settings (%s port %d%s, "
                       "--max-lifetime %lld); `dsqlauth-local stop` first to change them",
                       s->dir, running->endpoint, running->port,
                       running->strict ? ", --strict" : "", running->max_lifetime);
        printf("dsqlauth-local: already running on 127.0.0.1:%d (%s)\n", s->port, s->endpoint);
        return 0;
    }
    if (fp > 0) { /* a front without its PostgreSQL: restart both */
        kill(fp, SIGTERM);
        for (int i = 0; i < 50 && alive(fp); i++)
            usleep(100000);
    }
    if (pgctl_ensure_cluster(&pg, msg, sizeof msg) != 0 || pgctl_start(&pg, msg, sizeof msg) != 0)
        return die("%s", msg);
    const char *users[MAX_USERS];
    for (size_t i = 0; i < s->nusers; i++)
        users[i] = s->users[i];
    if (pgctl_setup_roles(&pg, users, s->nusers, msg, sizeof msg) != 0)
        return die("%s", msg);
    if (tls_ensure_certs(s->dir, s->endpoint, msg, sizeof msg) != 0)
        return die("%s", msg);
    path_in(s, "keys", path, sizeof path);
    if (keys_ensure(path, msg, sizeof msg) != 0)
        return die("%s", msg);

    int lfd = s->port > 0 ? listen_on(s->port) : -1;
    if (lfd < 0 && explicit_port) {
        snprintf(msg, sizeof msg, "cannot listen on 127.0.0.1:%d: %s", s->port, strerror(errno));
        return die("%s", msg);
    }
    if (lfd < 0)
        lfd = listen_on(0);
    if (lfd < 0)
        return die("cannot listen on 127.0.0.1: %s", strerror(errno));
    s->port = bound_port(lfd);
    if (state_save(s) != 0)
        return die("cannot write %s/state", s->dir);

    if (foreground) {
        write_pid(s, getpid());
        fprintf(stderr, "dsqlauth-local: serving %s on 127.0.0.1:%d\n", s->endpoint, s->port);
        int rc = serve(s, &pg, lfd, -1);
        pgctl_stop(&pg, msg, sizeof msg);
        path_in(s, "front.pid", path, sizeof path);
        unlink(path);
        return rc;
    }

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        setsid();
        path_in(s, "front.log", path, sizeof path);
        int log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        setenv("DSQLAUTH_LOG", getenv("DSQLAUTH_LOG") ? getenv("DSQLAUTH_LOG") : "info", 1);
        write_pid(s, getpid());
        _exit(serve(s, &pg, lfd, pfd[1]));
    }
    close(pfd[1]);
    close(lfd);
    char ok = 0;
    struct pollfd w = {.fd = pfd[0], .events = POLLIN};
    if (poll(&w, 1, 15000) <= 0 || read(pfd[0], &ok, 1) != 1 || ok != '1') {
        close(pfd[0]);
        return die("the TLS front did not start; see %s/front.log", s->dir);
    }
    close(pfd[0]);
    printf("dsqlauth-local: running: %s on 127.0.0.1:%d (state in %s)\n"
           "  eval \"$(dsqlauth-local env%s%s)\" then psql with a token as the password\n",
           s->endpoint, s->port, s->dir, getenv("DSQLAUTH_LOCAL_DIR") ? "" : " --dir ",
           getenv("DSQLAUTH_LOCAL_DIR") ? "" : s->dir);
    return 0;
}

/* ---- stop, status, env ------------------------------------------------------------------- */

static int cmd_stop(const settings *s)
{
    char msg[1024];
    pgctl pg;
    int rc = 0;
    pid_t fp = front_pid(s);
    if (fp > 0) {
        kill(fp, SIGTERM);
        for (int i = 0; i < 200 && alive(fp); i++)
            usleep(10000);
        if (alive(fp))
            kill(fp, SIGKILL);
    }
    char path[600];
    path_in(s, "front.pid", path, sizeof path);
    unlink(path);
    if (pgctl_init(&pg, s->dir, msg, sizeof msg) == 0 && pgctl_stop(&pg, msg, sizeof msg) != 0) {
        fprintf(stderr, "dsqlauth-local: %s\n", msg);
        rc = 1;
    }
    if (rc == 0)
        printf("dsqlauth-local: stopped\n");
    return rc;
}

static int cmd_status(const settings *s)
{
    char msg[1024];
    pgctl pg;
    pid_t fp = front_pid(s);
    pid_t pp = pgctl_init(&pg, s->dir, msg, sizeof msg) == 0 ? pgctl_running(&pg) : 0;
    if (fp > 0 && pp > 0) {
        printf("dsqlauth-local: running: %s on 127.0.0.1:%d (front pid %ld, postgres pid %ld%s)\n",
               s->endpoint, s->port, (long)fp, (long)pp, s->strict ? ", strict" : "");
        return 0;
    }
    printf("dsqlauth-local: not running (front %s, postgres %s) in %s\n",
           fp > 0 ? "up" : "down", pp > 0 ? "up" : "down", s->dir);
    return STATUS_NOT_RUNNING;
}

static void put_export(const char *name, const char *value)
{
    printf("export %s='", name);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*p);
    }
    puts("'");
}

static int cmd_env(const settings *s)
{
    char path[600], id[256], secret[256], port[16];
    path_in(s, "keys", path, sizeof path);
    if (keys_first(path, id, sizeof id, secret, sizeof secret) != 0) {
        fprintf(stderr, "dsqlauth-local: not initialised in %s; run `dsqlauth-local start`\n",
                s->dir);
        return 1;
    }
    char ca[600];
    path_in(s, "ca.crt", ca, sizeof ca);
    snprintf(port, sizeof port, "%d", s->port);
    put_export("PGHOST", s->endpoint);
    put_export("PGHOSTADDR", "127.0.0.1");
    put_export("PGPORT", port);
    put_export("PGSSLROOTCERT", ca);
    put_export("PGSSLMODE", "verify-full");
    put_export("PGDATABASE", "postgres");
    put_export("PGUSER", "admin");
    put_export("AWS_REGION", s->region);
    put_export("AWS_ACCESS_KEY_ID", id);
    put_export("AWS_SECRET_ACCESS_KEY", secret);
    puts("unset AWS_SESSION_TOKEN");
    put_export("CLUSTER_ENDPOINT", s->endpoint);
    put_export("CLUSTER_USER", "admin");
    put_export("REGION", s->region);
    put_export("DSQLAUTH_SSLROOTCERT", ca);
    put_export("DSQLAUTH_LOCAL_DIR", s->dir);
    OPENSSL_cleanse(secret, sizeof secret);
    return 0;
}

/* A token for role user, signed with the keys file's first pair (for scripts and tests). */
static int cmd_token(const settings *s, const char *user, long long expires, long long at)
{
    char path[600], id[256], secret[256];
    path_in(s, "keys", path, sizeof path);
    if (keys_first(path, id, sizeof id, secret, sizeof secret) != 0)
        return die("not initialised in %s; run `dsqlauth-local start`", s->dir);
    dsql_credentials *creds = NULL;
    dsql_error err;
    char *token = NULL;
    int rc = dsql_credentials_new(id, secret, NULL, 0, "keys-file", &creds, &err);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc == DSQL_OK) {
        dsql_token_params tp = {.hostname = s->endpoint,
                                .region = s->region,
                                .admin = strcmp(user, "admin") == 0,
                                .expires_in = expires,
                                .signing_time = at};
        rc = dsql_token_generate(creds, &tp, &token, &err);
    }
    dsql_credentials_free(creds);
    if (rc != DSQL_OK)
        return die("%s", err.message);
    puts(token);
    dsql_token_free(token);
    return 0;
}

/* The endpoint reaches its own PostgreSQL by socket directory and port, and so does pg_ctl's
 * wait: libpq variables meant for the user's own connections (`eval "$(dsqlauth-local env)"`
 * sets PGHOSTADDR, PGPORT, PGSSLMODE ...) would send those connections elsewhere. Cleared once,
 * before any thread exists. */
static void forget_libpq_env(void)
{
    static const char *const names[] = {
        "PGHOST",           "PGHOSTADDR",    "PGPORT",       "PGSERVICE",
        "PGSERVICEFILE",    "PGSSLMODE",     "PGREQUIRESSL", "PGSSLNEGOTIATION",
        "PGGSSENCMODE",     "PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGOPTIONS",
        "PGDATABASE",       "PGUSER",        "PGPASSWORD",   "PGPASSFILE",
        "PGCHANNELBINDING", "PGREQUIREAUTH", "PGSSLCERT",    "PGSSLKEY",
        "PGCONNECT_TIMEOUT",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

int main(int argc, char **argv)
{
    forget_libpq_env();
    settings s = {.max_lifetime = -1, .strict = -1};
    const char *cluster_id = NULL, *region = NULL;
    char extra_users[MAX_USERS][64];
    size_t nextra = 0;
    int port = -1, foreground = 0, strict = 0, handshake = 10, max_failed = 10, window = 60;
    long long lifetime = -1, expires = 0, signing_time = 0;
    const char *token_user = "admin";
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},      {"port", required_argument, 0, 'p'},
        {"cluster-id", required_argument, 0, 'c'}, {"region", required_argument, 0, 'r'},
        {"user", required_argument, 0, 'u'},     {"strict", no_argument, 0, 's'},
        {"max-lifetime", required_argument, 0, 'l'}, {"foreground", no_argument, 0, 'f'},
        {"handshake-timeout", required_argument, 0, 'H'},
        {"token-user", required_argument, 0, 'U'}, {"expires", required_argument, 0, 'e'},
        {"signing-time", required_argument, 0, 't'},
        {"max-failed-logins", required_argument, 0, 'F'},
        {"failed-login-window", required_argument, 0, 'W'},
        {"help", no_argument, 0, 'h'},           {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    default_dir(s.dir, sizeof s.dir);
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        char *end;
        switch (o) {
        case 'd':
            if (optarg[0] != '/') {
                char cwd[400];
                if (getcwd(cwd, sizeof cwd) == NULL)
                    return die("cannot resolve %s", optarg);
                snprintf(s.dir, sizeof s.dir, "%s/%s", cwd, optarg);
            } else {
                snprintf(s.dir, sizeof s.dir, "%s", optarg);
            }
            break;
        case 'p':
            port = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535)
                return die("--port: expected 1..65535, got %s", optarg);
            break;
        case 'c':
            if (!dsql_is_cluster_id(optarg))
                return die("--cluster-id: expected 26 characters of [a-z0-9], got %s", optarg);
            cluster_id = optarg;
            break;
        case 'r':
            if (!dsql_valid_region(optarg))
                return die("--region: expected a region name such as us-east-1, got %s", optarg);
            region = optarg;
            break;
        case 'u':
            if (!valid_role(optarg))
                return die("--user: %s is not a usable role name ([a-z_][a-z0-9_]*, not admin)",
                           optarg);
            if (nextra == MAX_USERS - 1)
                return die("--user: at most %s extra roles", "15");
            snprintf(extra_users[nextra++], sizeof extra_users[0], "%s", optarg);
            break;
        case 's':
            strict = 1;
            break;
        case 'l':
            lifetime = strtoll(optarg, &end, 10);
            if (*end != '\0' || lifetime < 0)
                return die("--max-lifetime: expected seconds, got %s", optarg);
            break;
        case 'f':
            foreground = 1;
            break;
        case 'H':
            handshake = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || handshake < 1 || handshake > 600)
                return die("--handshake-timeout: expected 1..600 seconds, got %s", optarg);
            break;
        case 'F':
            max_failed = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || max_failed < 0 || max_failed > 1000000)
                return die("--max-failed-logins: expected 0..1000000, got %s", optarg);
            break;
        case 'W':
            window = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || window < 1 || window > 86400)
                return die("--failed-login-window: expected 1..86400 seconds, got %s", optarg);
            break;
        case 'U':
            token_user = optarg;
            break;
        case 'e':
            expires = strtoll(optarg, &end, 10);
            break;
        case 't':
            signing_time = strtoll(optarg, &end, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("dsqlauth-local %s\n", dsql_version());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    size_t len = strlen(s.dir);
    while (len > 1 && s.dir[len - 1] == '/')
        s.dir[--len] = '\0';

    /* Settings: the last start's, then this command line's. */
    int had_state = state_load(&s) == 0;
    settings last = s; /* what the last start used */
    if (strcmp(cmd, "start") == 0) {
        s.nusers = 0; /* roles: app plus this start's --user names (old roles stay in the DB) */
        snprintf(s.users[s.nusers++], sizeof s.users[0], "app");
        for (size_t i = 0; i < nextra; i++)
            if (strcmp(extra_users[i], "app") != 0)
                snprintf(s.users[s.nusers++], sizeof s.users[0], "%s", extra_users[i]);
        s.strict = strict;
        s.max_lifetime = lifetime >= 0 ? lifetime : DEFAULT_LIFETIME;
        s.handshake_timeout = handshake;
        s.max_failed_logins = max_failed;
        s.failed_login_window = window;
    }
    if (cluster_id != NULL)
        snprintf(s.cluster_id, sizeof s.cluster_id, "%s", cluster_id);
    if (region != NULL)
        snprintf(s.region, sizeof s.region, "%s", region);
    if (s.cluster_id[0] == '\0')
        snprintf(s.cluster_id, sizeof s.cluster_id, DEFAULT_CLUSTER_ID);
    if (s.region[0] == '\0')
        snprintf(s.region, sizeof s.region, DEFAULT_REGION);
    if (port > 0)
        s.port = port;
    dsql_error err;
    if (dsql_endpoint_resolve(s.cluster_id, s.region, s.endpoint, sizeof s.endpoint, &err) != 0)
        return die("%s", err.message);

    if (strcmp(cmd, "start") == 0) {
        if (had_state)
            dsql_endpoint_resolve(last.cluster_id, last.region, last.endpoint,
                                  sizeof last.endpoint, NULL);
        return cmd_start(&s, had_state ? &last : NULL, foreground, port > 0);
    }
    if (strcmp(cmd, "stop") == 0)
        return cmd_stop(&s);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(&s);
    if (strcmp(cmd, "token") == 0)
        return cmd_token(&s, token_user, expires, signing_time);
    if (strcmp(cmd, "env") == 0) {
        if (!had_state)
            return die("nothing started in %s; run `dsqlauth-local start` first", s.dir);
        return cmd_env(&s);
    }
    usage(stderr);
    return 2;
}
