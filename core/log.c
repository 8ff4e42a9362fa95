/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr or the journal, filtered by level; safe from any thread. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

static int log_max_level = BERTH_LOG_INFO;
static int log_use_journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[BERTH_LOG_ERR] = "err",
	[BERTH_LOG_WARNING] = "warning",
	[BERTH_LOG_NOTICE] = "notice",
	[BERTH_LOG_INFO] = "info",
	[BERTH_LOG_DEBUG] = "debug",
};

/* stderr is the journal when JOURNAL_STREAM names the device:inode of our stderr. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(int target, int max_level)
{
	/* Atomic: a reload changes these while other threads log. */
	__atomic_store_n(&log_max_level, max_level, __ATOMIC_RELAXED);
	switch (target) {
	case LOG_TARGET_JOURNAL:
		__atomic_store_n(&log_use_journal, 1, __ATOMIC_RELAXED);
		break;
	case LOG_TARGET_STDERR:
		__atomic_store_n(&log_use_journal, 0, __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n(&log_use_journal, stderr_is_journal(), __ATOMIC_RELAXED);
		break;
	}
}

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && strcasecmp(level_names[i], name) == 0)
			return (int)i;
	if (strcasecmp(name, "error") == 0)
		return BERTH_LOG_ERR;
	if (strcasecmp(name, "warn") == 0)
		return BERTH_LOG_WARNING;
	return -1;
}

int log_target_from_name(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return LOG_TARGET_AUTO;
	if (strcmp(name, "stderr") == 0)
		return LOG_TARGET_STDERR;
	if (strcmp(name, "journal") == 0)
		return LOG_TARGET_JOURNAL;
	return -1;
}

void log_msg(int level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, module, fmt, ap);
	va_end(ap);
}

void log_vmsg(int level, const char *module, const char *fmt, va_list ap)
{
	char text[1024];

	if (level > __atomic_load_n(&log_max_level, __ATOMIC_RELAXED))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);

	if (__atomic_load_n(&log_use_journal, __ATOMIC_RELAXED)) {
		sd_journal_send("MESSAGE=%s%s%s", module ? module : "", module ? ": " : "", text,
				"PRIORITY=%d", level, "BERTH_MODULE=%s", module ? module : "core",
				NULL);
		return;
	}
	/* One write per line so that lines from different threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "berthd: %s: %s%s%s\n",
		level >= BERTH_LOG_ERR && level <= BERTH_LOG_DEBUG ? level_names[level] : "log",
		module ? module : "", module ? ": " : "", text);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
