/* SPDX-License-Identifier: MIT */
/* fake_aws.c: the scripted loopback AWS fakes (fake_aws.py) run and read by the C suites. */
#include "fake_aws.h"
#include "scratch.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void start(fake_server *fs, const char *scenario, int ipv6)
{
    memset(fs, 0, sizeof *fs);
    fs->pid = -1;
    strcpy(fs->dir, "/tmp/dsqlauth-fake-XXXXXX");
    cr_assert_not_null(mkdtemp(fs->dir));
    char scen[256];
    snprintf(scen, sizeof scen, "%s/scenario.json", fs->dir);
    snprintf(fs->log, sizeof fs->log, "%s/requests.jsonl", fs->dir);
    FILE *f = fopen(scen, "w");
    cr_assert_not_null(f);
    fputs(scenario, f);
    fclose(f);
    const char *root = getenv("DSQLAUTH_SOURCE_ROOT");
    cr_assert_not_null(root, "DSQLAUTH_SOURCE_ROOT is not set (run through meson test)");
    char script[512];
    snprintf(script, sizeof script, "%s/tests/support/fake_aws.py", root);

    int in[2], out[2];
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        char *argv[10];
        int i = 0;
        argv[i++] = "/usr/bin/python3";
        argv[i++] = script;
        argv[i++] = "--scenario";
        argv[i++] = scen;
        argv[i++] = "--log";
        argv[i++] = fs->log;
        if (ipv6)
            argv[i++] = "--ipv6";
        argv[i] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fs->pid = pid;
    fs->stdin_fd = in[1];
    char line[32] = {0};
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(out[0], line + n, 1);
        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    close(out[0]);
    fs->port = atoi(line);
    cr_assert_gt(fs->port, 0, "fake_aws.py did not start");
    snprintf(fs->base, sizeof fs->base, ipv6 ? "http://[::1]:%d" : "http://127.0.0.1:%d", fs->port);
}

void fake_server_start(fake_server *fs, const char *scenario_json)
{
    start(fs, scenario_json, 0);
}

void fake_server_start6(fake_server *fs, const char *scenario_json)
{
    start(fs, scenario_json, 1);
}

void fake_server_stop(fake_server *fs)
{
    if (fs->pid > 0) {
        close(fs->stdin_fd);
        kill(fs->pid, SIGTERM);
        waitpid(fs->pid, NULL, 0);
        fs->pid = -1;
    }
    if (fs->dir[0] != '\0') {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fs->dir);
        int rc = system(cmd);
        (void)rc;
        fs->dir[0] = '\0';
    }
}

char *fake_server_log(const fake_server *fs)
{
    FILE *f = fopen(fs->log, "r");
    if (f == NULL)
        return strdup("");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, r, m);
    fclose(f);
    fclose(m);
    return buf;
}

int fake_server_count(const fake_server *fs, const char *method, const char *path)
{
    char *log = fake_server_log(fs);
    int count = 0;
    for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (j == NULL)
            continue;
        const char *m = json_string_value(json_object_get(j, "method"));
        const char *p = json_string_value(json_object_get(j, "path"));
        if (m != NULL && p != NULL && strcmp(m, method) == 0) {
            size_t pl = strlen(path);
            int with_query = strchr(path, '?') != NULL;
            if (strncmp(p, path, pl) == 0 && (p[pl] == '\0' || (!with_query && p[pl] == '?')))
                count++;
        }
        json_decref(j);
    }
    free(log);
    return count;
}

char *fake_server_field(const fake_server *fs, int index, const char *name)
{
    char *log = fake_server_log(fs);
    char *result = NULL;
    int i = 0;
    for (char *line = strtok(log, "\n"); line != NULL; line = strtok(NULL, "\n"), i++) {
        if (i != index)
            continue;
        json_t *j = json_loads(line, 0, NULL);
        json_t *v = strncmp(name, "header:", 7) == 0
                        ? json_object_get(json_object_get(j, "headers"), name + 7)
                        : json_object_get(j, name);
        if (json_is_string(v))
            result = strdup(json_string_value(v));
        json_decref(j);
        break;
    }
    free(log);
    return result;
}

const char *fake_server_write_file(const fake_server *fs, const char *name, const char *text,
                                   char *path, size_t path_len)
{
    snprintf(path, path_len, "%s/%s", fs->dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600); /* as `aws configure` leaves them: no permission warning */
    return path;
}

void fake_isolate_env(const fake_server *fs)
{
    scratch_isolate_env(fs->dir);
}

void fake_aws_files(const fake_server *fs, const char *config, const char *credentials)
{
    char path[256];
    if (config != NULL)
        fake_server_write_file(fs, "config", config, path, sizeof path);
    if (credentials != NULL)
        fake_server_write_file(fs, "credentials", credentials, path, sizeof path);
}

int fake_unused_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

long long fake_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fake_server_log_has(const fake_server *fs, const char *needle)
{
    char *log = fake_server_log(fs);
    int found = log != NULL && strstr(log, needle) != NULL;
    free(log);
    return found;
}

void fake_server_set_mode(const fake_server *fs, const char *mode)
{
    char tmp[256], path[256];
    snprintf(tmp, sizeof tmp, "%s/mode.tmp", fs->dir);
    snprintf(path, sizeof path, "%s/mode", fs->dir);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f, "cannot write %s", tmp);
    fputs(mode, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, path), 0);
}
