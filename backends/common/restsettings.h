/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restsettings: the settings the REST backends over a unix socket (docker, podman) read
 * alike, with the same ranges and the same words in their errors.
 */
#ifndef BERTH_RESTSETTINGS_H
#define BERTH_RESTSETTINGS_H

#include <stdbool.h>

#include <berth/berth.h>

/* socket = "/path" or "unix:///path" (def when unset): an absolute path that fits a
 * sockaddr_un. *path gets a strdup()ed copy. */
int restsettings_socket(const berth_host *host, const berth_settings *s, const char *def,
			char **path, berth_error *err);

/* timeout (1 to 3600 s), pull (bool), stop_grace (0 to 3600 s), in that order; each one
 * not set leaves its output as it is. */
int restsettings_timing(const berth_host *host, const berth_settings *s, int *timeout_s,
			bool *pull, int *stop_grace_s, berth_error *err);

#endif
