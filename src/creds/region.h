/* SPDX-License-Identifier: MIT */
/* region.h: where a region came from, and a profile's settings for modules outside the chain. */
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

/*
 * dsql_region_resolve (dsqlauth.h), and where the region came from: on success origin (when not
 * NULL) holds a phrase naming the step that gave it, for messages such as "us-east-1 (from
 * AWS_REGION)": "the explicit region", "AWS_REGION", "AWS_DEFAULT_REGION", "profile 'dev' in
 * /home/u/.aws/config", "the endpoint name" or "the instance metadata service". origin is
 * truncated to origin_len and left untouched on failure.
 */
DSQL_LOCAL int dsql_region_resolve_origin(const char *explicit_region, const char *hostname,
                                          const char *profile, char *region, size_t region_len,
                                          char *origin, size_t origin_len, dsql_error *err);

#endif /* DSQL_REGION_H */
