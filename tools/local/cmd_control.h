/* SPDX-License-Identifier: MIT */
/* cmd_control.h: `dsqlauth-local stop` and `status`. */
#ifndef DSQL_LOCAL_CMD_CONTROL_H
#define DSQL_LOCAL_CMD_CONTROL_H

#include "statedir.h"

#define LOCAL_STATUS_NOT_RUNNING 3 /* as pg_ctl status */

/* Stops the front and PostgreSQL; no process is left. The exit status. */
int cmd_stop(const settings *s);

/* 0 when both run, LOCAL_STATUS_NOT_RUNNING when not; prints which. */
int cmd_status(const settings *s);

#endif /* DSQL_LOCAL_CMD_CONTROL_H */
