/* SPDX-License-Identifier: Apache-2.0 */
/* Logging: to stderr (with level prefixes) or to the journal, filtered by level. */
#ifndef BERTH_CORE_LOG_H
#define BERTH_CORE_LOG_H

#include <stdarg.h>

#include <berth/module.h>

enum log_target {
	LOG_TARGET_AUTO = 0, /* journal when stderr is connected to it (JOURNAL_STREAM), else stderr */
	LOG_TARGET_STDERR = 1,
	LOG_TARGET_JOURNAL = 2,
};

void log_setup(int target, int max_level);
int log_level_from_name(const char *name); /* "err".."debug"; -1 if unknown */
int log_target_from_name(const char *name); /* "auto", "stderr", "journal"; -1 if unknown */

/* Thread-safe. `module` may be NULL for the core. */
void log_msg(int level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void log_vmsg(int level, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_err(...) log_msg(BERTH_LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(BERTH_LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(BERTH_LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(BERTH_LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(BERTH_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
