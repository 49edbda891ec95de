/* SPDX-License-Identifier: MIT */
/* cmd_control.c: `dsqlauth-local stop` and `status`. */
#include "cmd_control.h"

#include "pgctl.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int cmd_stop(const settings *s)
{
    char msg[1024];
    pgctl pg;
    int rc = 0;
    pid_t fp = statedir_front_pid(s);
    if (fp > 0) {
        kill(fp, SIGTERM);
        for (int i = 0; i < 200 && statedir_alive(fp); i++)
            usleep(10000);
        if (statedir_alive(fp))
            kill(fp, SIGKILL);
    }
    char path[600];
    statedir_path(s, "front.pid", path, sizeof path);
    unlink(path);
    if (pgctl_init(&pg, s->dir, msg, sizeof msg) == 0 && pgctl_stop(&pg, msg, sizeof msg) != 0) {
        fprintf(stderr, "dsqlauth-local: %s\n", msg);
        rc = 1;
    }
    if (rc == 0)
        printf("dsqlauth-local: stopped\n");
    return rc;
}

int cmd_status(const settings *s)
{
    char msg[1024];
    pgctl pg;
    pid_t fp = statedir_front_pid(s);
    pid_t pp = pgctl_init(&pg, s->dir, msg, sizeof msg) == 0 ? pgctl_running(&pg) : 0;
    if (fp > 0 && pp > 0) {
        printf("dsqlauth-local: running: %s on 127.0.0.1:%d (front pid %ld, postgres pid %ld%s)\n",
               s->endpoint, s->port, (long)fp, (long)pp, s->strict ? ", strict" : "");
        return 0;
    }
    printf("dsqlauth-local: not running (front %s, postgres %s) in %s\n", fp > 0 ? "up" : "down",
           pp > 0 ? "up" : "down", s->dir);
    return LOCAL_STATUS_NOT_RUNNING;
}
