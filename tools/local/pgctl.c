/* SPDX-License-Identifier: MIT */
/* pgctl.c: runs the installed PostgreSQL's initdb and pg_ctl, as an unprivileged user if root. */
#include "pgctl.h"

#include "pgmodule.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_exec(const char *dir, const char *prog)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, prog);
    return access(p, X_OK) == 0;
}

/* `pg_config --bindir`, else the newest /usr/lib/postgresql/<major>/bin with a postgres in it. */
static int find_bindir(char *out, size_t outlen)
{
    FILE *f = popen("pg_config --bindir 2>/dev/null", "r");
    if (f != NULL) {
        char line[1024] = "";
        if (fgets(line, sizeof line, f) != NULL)
            line[strcspn(line, "\n")] = '\0';
        pclose(f);
        if (line[0] != '\0' && is_exec(line, "postgres") && is_exec(line, "initdb")) {
            snprintf(out, outlen, "%s", line);
            return 0;
        }
    }
    int best = -1;
    DIR *d = opendir("/usr/lib/postgresql");
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            char *end;
            long v = strtol(e->d_name, &end, 10);
            char bin[600];
            snprintf(bin, sizeof bin, "/usr/lib/postgresql/%s/bin", e->d_name);
            if (*end == '\0' && v > best && is_exec(bin, "postgres") && is_exec(bin, "pg_ctl"))
                best = (int)v;
        }
        closedir(d);
    }
    if (best < 0)
        return -1;
    snprintf(out, outlen, "/usr/lib/postgresql/%d/bin", best);
    return 0;
}

int pgctl_init(pgctl *pg, const char *dir, char *msg, size_t msglen)
{
    memset(pg, 0, sizeof *pg);
    if (find_bindir(pg->bindir, sizeof pg->bindir) != 0) {
        snprintf(msg, msglen,
                 "no PostgreSQL server found (tried pg_config --bindir and "
                 "/usr/lib/postgresql/*/bin); install the postgresql package");
        return -1;
    }
    snprintf(pg->datadir, sizeof pg->datadir, "%s/pgdata", dir);
    snprintf(pg->sockdir, sizeof pg->sockdir, "%s/run", dir);
    snprintf(pg->logfile, sizeof pg->logfile, "%s/postgres.log", dir);
    if (strlen(pg->sockdir) + sizeof "/.s.PGSQL.5432" > 107) {
        snprintf(msg, msglen,
                 "the state directory %s is too long for a Unix socket path; "
                 "use a shorter --dir",
                 dir);
        return -1;
    }
    pg->uid = getuid();
    pg->gid = getgid();
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL) {
            snprintf(msg, msglen,
                     "running as root, and there is no `postgres` user to run "
                     "PostgreSQL as; create one or run as another user");
            return -1;
        }
        pg->uid = pw->pw_uid;
        pg->gid = pw->pw_gid;
    }
    return 0;
}

int pgctl_can_traverse(const pgctl *pg, const char *path)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    while (p[0] != '\0') {
        struct stat st;
        if (stat(p, &st) != 0)
            return 0;
        int ok = st.st_uid == pg->uid   ? (st.st_mode & S_IXUSR) != 0
                 : st.st_gid == pg->gid ? (st.st_mode & S_IXGRP) != 0
                                        : (st.st_mode & S_IXOTH) != 0;
        if (!ok)
            return 0;
        char *slash = strrchr(p, '/');
        if (slash == NULL || slash == p)
            break;
        *slash = '\0';
    }
    return 1;
}

/*
 * Runs argv as the PostgreSQL user with stdout and stderr appended to logfile; returns the exit
 * status (or -1). The child drops root before exec.
 */
static int run(const pgctl *pg, const char *logfile, char *const argv[])
{
    int logfd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (geteuid() == 0) {
            struct passwd *pw = getpwuid(pg->uid);
            if (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0)
                _exit(126);
            if (pw != NULL)
                setenv("HOME", pw->pw_dir, 1);
        }
        setsid(); /* the postmaster must not die with our terminal */
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void tail_hint(const char *logfile, char *msg, size_t msglen)
{
    size_t n = strlen(msg);
    FILE *f = fopen(logfile, "re");
    if (f == NULL)
        return;
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, f) != NULL)
        if (line[0] != '\n')
            snprintf(last, sizeof last, "%s", line);
    fclose(f);
    last[strcspn(last, "\n")] = '\0';
    if (last[0] != '\0' && n < msglen)
        snprintf(msg + n, msglen - n, " (%s: %s)", logfile, last);
}

/* Appends value to f as a single-quoted setting value. */
static void put_quoted(FILE *f, const char *value)
{
    fputc('\'', f);
    for (const char *p = value; *p != '\0'; p++)
        fputs(*p == '\'' ? "''" : (char[]){*p, '\0'}, f);
    fputc('\'', f);
}

/* Whether the file at path holds exactly n bytes equal to data. */
static int same_content(const char *path, const char *data, size_t n)
{
    char buf[4096];
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == n && memcmp(buf, data, n) == 0;
}

static int write_settings(pgctl *pg)
{
    char path[1200], tmp[1300], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/dsqlauth.conf", pg->datadir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return -1;
    fprintf(f, "# written by dsqlauth-local on every start\n"
               "listen_addresses = ''\n"
               "unix_socket_directories = ");
    put_quoted(f, pg->sockdir);
    fprintf(f, "\n"
               "unix_socket_permissions = 0700\n"
               "max_connections = 1000\n"
               "shared_buffers = 128MB\n"
               "synchronous_commit = off\n"
               "log_min_messages = warning\n"
               "log_line_prefix = '%%m [%%p] %%u '\n");
    if (pg->strict) {
        fprintf(f, "# --strict: Aurora DSQL's identity and defaults\n"
                   "shared_preload_libraries = ");
        put_quoted(f, pg->module);
        fprintf(f,
                "\n"
                "default_transaction_isolation = 'repeatable read'\n"
                "timezone = 'UTC'\n"
                "# optimistic concurrency: lock waits end fast, and the module names who\n"
                "# was waited for (relay.c, occ.c)\n"
                "lock_timeout = '%dms'\n"
                "deadlock_timeout = '%dms'\n"
                "log_lock_waits = on\n",
                PGCTL_LOCK_TIMEOUT_MS, PGCTL_LOCK_TIMEOUT_MS / 3);
        if (pg->backend_version)
            fprintf(f, "# --server-version backend\n%s = on\n", PGMODULE_BACKEND_VERSION_GUC);
    }
    if (fclose(f) != 0) {
        free(text);
        return -1;
    }
    int rc = 0;
    pg->settings_changed = !same_content(path, text, len);
    if (pg->settings_changed) {
        FILE *out = fopen(tmp, "we");
        rc = out != NULL && fwrite(text, 1, len, out) == len ? 0 : -1;
        if (out != NULL && fclose(out) != 0)
            rc = -1;
        if (rc == 0 && (chmod(tmp, 0644) != 0 || rename(tmp, path) != 0))
            rc = -1;
    }
    free(text);
    return rc;
}

int pgctl_strict(pgctl *pg, const char *dir, const char *module_src, char *msg, size_t msglen)
{
    char tmp[1100];
    int rc = -1, in = -1, out = -1;
    snprintf(pg->module, sizeof pg->module, "%s/%s", dir, PGMODULE_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", pg->module);
    in = open(module_src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(msg, msglen, "--strict needs the backend module %s: %s", module_src,
                 strerror(errno));
        goto out;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        goto fail;
    char buf[65536];
    for (ssize_t n; (n = read(in, buf, sizeof buf)) != 0;) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            goto fail;
    }
    if (fchmod(out, 0644) != 0 || close(out) != 0) {
        out = -1;
        goto fail;
    }
    out = -1;
    /* A new inode: a running server keeps the old file it mapped. */
    if (rename(tmp, pg->module) != 0)
        goto fail;
    pg->strict = 1;
    rc = 0;
    goto out;
fail:
    snprintf(msg, msglen, "cannot copy the backend module into %s: %s", dir, strerror(errno));
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int pgctl_ensure_cluster(pgctl *pg, char *msg, size_t msglen)
{
    char version[1200];
    snprintf(version, sizeof version, "%s/PG_VERSION", pg->datadir);
    if (access(version, F_OK) != 0) {
        if (mkdir(pg->datadir, 0700) != 0 && errno != EEXIST) {
            snprintf(msg, msglen, "cannot create %s: %s", pg->datadir, strerror(errno));
            return -1;
        }
        if (chown(pg->datadir, pg->uid, pg->gid) != 0 && geteuid() == 0) {
            snprintf(msg, msglen, "cannot chown %s: %s", pg->datadir, strerror(errno));
            return -1;
        }
        if (!pgctl_can_traverse(pg, pg->datadir)) {
            snprintf(msg, msglen,
                     "the postgres user cannot reach %s: choose a --dir whose "
                     "parents it can search (e.g. under /tmp)",
                     pg->datadir);
            return -1;
        }
        char initdb[1200], pgdata[1100];
        snprintf(initdb, sizeof initdb, "%s/initdb", pg->bindir);
        snprintf(pgdata, sizeof pgdata, "--pgdata=%s", pg->datadir);
        char *argv[] = {initdb,
                        pgdata,
                        "--username=admin",
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--locale=C",
                        "--no-instructions",
                        "--no-sync",
                        NULL};
        if (run(pg, pg->logfile, argv) != 0) {
            snprintf(msg, msglen, "initdb failed");
            tail_hint(pg->logfile, msg, msglen);
            return -1;
        }
        char conf[1200];
        snprintf(conf, sizeof conf, "%s/postgresql.conf", pg->datadir);
        FILE *f = fopen(conf, "ae");
        if (f == NULL) {
            snprintf(msg, msglen, "cannot append to %s", conf);
            return -1;
        }
        fputs("\ninclude_if_exists = 'dsqlauth.conf'\n", f);
        fclose(f);
    }
    if (mkdir(pg->sockdir, 0700) != 0 && errno != EEXIST) {
        snprintf(msg, msglen, "cannot create %s: %s", pg->sockdir, strerror(errno));
        return -1;
    }
    if (chown(pg->sockdir, pg->uid, pg->gid) != 0 && geteuid() == 0) {
        snprintf(msg, msglen, "cannot chown %s", pg->sockdir);
        return -1;
    }
    if (write_settings(pg) != 0) {
        snprintf(msg, msglen, "cannot write the settings into %s", pg->datadir);
        return -1;
    }
    return 0;
}

pid_t pgctl_running(const pgctl *pg)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/postmaster.pid", pg->datadir);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return 0;
    return (pid_t)pid;
}

int pgctl_start(const pgctl *pg, char *msg, size_t msglen)
{
    if (pgctl_running(pg) > 0) {
        if (!pg->settings_changed)
            return 0;
        if (pgctl_stop(pg, msg, msglen) != 0) /* preloaded modules need a new postmaster */
            return -1;
    }
    char pgctl_bin[1200];
    snprintf(pgctl_bin, sizeof pgctl_bin, "%s/pg_ctl", pg->bindir);
    char *argv[] = {pgctl_bin, "start", "-D", (char *)pg->datadir, "-w", "-t", "60", "-s", NULL};
    if (run(pg, pg->logfile, argv) != 0) {
        snprintf(msg, msglen, "PostgreSQL did not start");
        tail_hint(pg->logfile, msg, msglen);
        return -1;
    }
    return 0;
}

int pgctl_stop(const pgctl *pg, char *msg, size_t msglen)
{
    if (pgctl_running(pg) == 0)
        return 0;
    char pgctl_bin[1200];
    snprintf(pgctl_bin, sizeof pgctl_bin, "%s/pg_ctl", pg->bindir);
    char *argv[] = {pgctl_bin, "stop", "-D", (char *)pg->datadir, "-m", "fast", "-w", "-t",
                    "60",      "-s",   NULL};
    if (run(pg, pg->logfile, argv) != 0 && pgctl_running(pg) > 0) {
        snprintf(msg, msglen, "PostgreSQL did not stop");
        tail_hint(pg->logfile, msg, msglen);
        return -1;
    }
    return 0;
}

static int exec_sql(PGconn *c, const char *sql, char *msg, size_t msglen)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(msg, msglen, "setting up the local PostgreSQL: %s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* DSQL's own objects, and version() as DSQL answers it (strict mode). */
static int setup_strict(PGconn *c, char *msg, size_t msglen)
{
    char state[6], bad_id[128], unknown[128], sql[4096];
    rule_format(RULE_WAIT_FOR_JOB_ID, NULL, state, bad_id, sizeof bad_id);
    rule_format(RULE_WAIT_FOR_JOB_UNKNOWN, "%s", state, unknown, sizeof unknown);
    /* sys.wait_for_job: one text argument as DSQL's (its 42809 names `(text)`), and a row
     * `succeeded` back; jobs here are done when their statement is. */
    snprintf(
        sql, sizeof sql,
        "CREATE OR REPLACE PROCEDURE sys.wait_for_job(job_id text, "
        "INOUT succeeded boolean DEFAULT NULL) LANGUAGE plpgsql AS $body$\n"
        "DECLARE st text;\n"
        "BEGIN\n"
        "  IF job_id IS NULL OR job_id !~ '^[a-z2-7]{%d}$' THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = '%s';\n"
        "  END IF;\n"
        "  SELECT j.status INTO st FROM dsqlauth.jobs j WHERE j.job_id = wait_for_job.job_id;\n"
        "  IF NOT FOUND THEN\n"
        "    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s', job_id);\n"
        "  END IF;\n"
        "  succeeded := st = 'completed';\n"
        "END $body$",
        PGMODULE_JOB_ID_LEN, bad_id, unknown);
    return exec_sql(c, "CREATE SCHEMA IF NOT EXISTS dsqlauth AUTHORIZATION admin", msg, msglen) !=
                       0 ||
                   exec_sql(c,
                            "CREATE TABLE IF NOT EXISTS dsqlauth.jobs (job_id text PRIMARY KEY, "
                            "status text NOT NULL, details text, job_type text NOT NULL, "
                            "class_id oid, object_id oid, object_name text, "
                            "start_time timestamptz NOT NULL, update_time timestamptz)",
                            msg, msglen) != 0 ||
                   exec_sql(c, "CREATE SCHEMA IF NOT EXISTS sys AUTHORIZATION admin", msg,
                            msglen) != 0 ||
                   exec_sql(c,
                            "CREATE OR REPLACE VIEW sys.jobs AS SELECT job_id, status, details, "
                            "job_type, class_id, object_id, object_name, start_time, update_time "
                            "FROM dsqlauth.jobs",
                            msg, msglen) != 0 ||
                   exec_sql(c,
                            "GRANT USAGE ON SCHEMA sys, dsqlauth TO PUBLIC; "
                            "GRANT SELECT ON sys.jobs, dsqlauth.jobs TO PUBLIC",
                            msg, msglen) != 0 ||
                   exec_sql(c, sql, msg, msglen) != 0 ||
                   exec_sql(c,
                            "CREATE OR REPLACE FUNCTION pg_catalog.version() RETURNS text "
                            "LANGUAGE sql STABLE PARALLEL SAFE AS "
                            "$$SELECT 'PostgreSQL 16'::text$$",
                            msg, msglen) != 0
               ? -1
               : 0;
}

int pgctl_setup(const pgctl *pg, const char *const *users, size_t n, char *msg, size_t msglen)
{
    char port[16];
    snprintf(port, sizeof port, "%d", PG_BACKEND_PORT);
    const char *keys[] = {"host", "port", "user", "dbname", "application_name", NULL};
    const char *vals[] = {pg->sockdir, port, "admin", "postgres", "dsqlauth-local", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(msg, msglen, "connecting to the local PostgreSQL: %s", PQerrorMessage(c));
        goto out;
    }
    if (exec_sql(c, "SET client_min_messages = warning", msg, msglen) != 0 ||
        exec_sql(c, "ALTER SCHEMA public OWNER TO admin", msg, msglen) != 0 ||
        exec_sql(c, "REVOKE CREATE ON SCHEMA public FROM PUBLIC", msg, msglen) != 0)
        goto out;
    if (pg->strict ? setup_strict(c, msg, msglen) != 0
                   : exec_sql(c,
                              "CREATE OR REPLACE FUNCTION pg_catalog.version() RETURNS text "
                              "LANGUAGE internal STABLE STRICT PARALLEL SAFE AS 'pgsql_version'",
                              msg, msglen) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char *id = PQescapeIdentifier(c, users[i], strlen(users[i]));
        char *lit = PQescapeLiteral(c, users[i], strlen(users[i]));
        char sql[1024];
        int bad = id == NULL || lit == NULL;
        if (!bad) {
            snprintf(sql, sizeof sql,
                     "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN "
                     "CREATE ROLE %s LOGIN; END IF; END$$",
                     lit, id);
            bad = exec_sql(c, sql, msg, msglen) != 0;
        }
        if (!bad && i == 0) {
            snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS myschema AUTHORIZATION %s", id);
            bad = exec_sql(c, sql, msg, msglen) != 0;
        }
        if (!bad) {
            snprintf(sql, sizeof sql, "GRANT USAGE, CREATE ON SCHEMA myschema TO %s", id);
            bad = exec_sql(c, sql, msg, msglen) != 0;
        }
        PQfreemem(id);
        PQfreemem(lit);
        if (bad)
            goto out;
    }
    rc = 0;
out:
    PQfinish(c);
    return rc;
}
