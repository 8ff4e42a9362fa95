/* SPDX-License-Identifier: Apache-2.0 */
/* berthd's life cycle (see daemon.c). Both return the process exit code. */
#ifndef BERTH_CORE_DAEMON_H
#define BERTH_CORE_DAEMON_H

/* Loads the configuration and the modules and opens every instance without connecting
 * anywhere; prints what is wrong (file, line, key) or a one-line OK. */
int daemon_check_config(const char *config_path);
/* Runs in the foreground until SIGTERM/SIGINT. */
int daemon_run(const char *config_path);

#endif
