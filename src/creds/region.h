/* SPDX-License-Identifier: MIT */
/* region.h: reading a profile's settings for modules outside the credential chain. */
#ifndef DSQL_REGION_H
#define DSQL_REGION_H

#include "base/util.h"

/*
 * Reads one key of a profile as botocore's get_scoped_config does: the config file's profile
 * section, overridden by the credentials file's section of the same name. profile NULL or ""
 * means the current profile (AWS_DEFAULT_PROFILE, AWS_PROFILE, else "default"). Reads both
 * files on every call: read what you need once. On success *value is a new string the caller
 * frees with dsql_free_secret, or NULL when the key is absent (or a nested sub-section).
 * Errors: DSQL_ERR_CONFIG for a malformed file or a named profile that exists in neither file
 * (botocore's ProfileNotFound), DSQL_ERR_NOMEM.
 */
DSQL_LOCAL int dsql_profile_value(const char *profile, const char *key, char **value,
                                  dsql_error *err);

#endif /* DSQL_REGION_H */
