/* SPDX-License-Identifier: Apache-2.0 */
/* berthd: command line. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <berth/module.h>

#include "daemon.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: berthd [OPTION]...\n"
		"Operate containers on this device from the cloud: Eclipse Ditto live messages\n"
		"delivered by Eclipse Hono (MQTT or AMQP 1.0), any installed container engine.\n"
		"\n"
		"  -c, --config FILE   configuration file (default %s;\n"
		"                      FILE's conf.d/*.conf are read after it)\n"
		"      --check-config  check the configuration and the modules it names, print\n"
		"                      what is wrong (file, line, key), and exit\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"berthd runs in the foreground and logs to stderr or the journal. SIGTERM or\n"
		"SIGINT stop it after in-flight commands are answered; SIGHUP reloads the agent\n"
		"settings. See berthd(8) and berth.conf(5).\n",
		BERTH_CONF_FILE);
}

/*
 * glibc's per-thread malloc caches (tcache) keep chunks freed by workers and module
 * threads where malloc_trim() cannot reach them: after a burst of parallel commands they
 * pin some 0.7 MB of heap for good (measured in tests/bench). glibc reads that tunable
 * only from the environment at start-up, so berthd sets it and executes itself again,
 * once. An administrator's own glibc.malloc.tcache_count wins; under a tool that runs
 * berthd through another executable (valgrind), nothing is done.
 */
static void disable_malloc_caches(char **argv)
{
	const char *tunables = getenv("GLIBC_TUNABLES");
	char self[4096], value[1024];
	ssize_t n;

	if (tunables && strstr(tunables, "glibc.malloc.tcache_count"))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	if (strcmp(strrchr(self, '/') ? strrchr(self, '/') + 1 : self, "berthd") != 0)
		return;
	if (snprintf(value, sizeof(value), "%s%sglibc.malloc.tcache_count=0",
		     tunables ? tunables : "", tunables ? ":" : "") >= (int)sizeof(value))
		return;
	if (setenv("GLIBC_TUNABLES", value, 1) == 0)
		execv(self, argv);
	/* exec failed: run on with the caches */
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK_CONFIG = 256 };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = BERTH_CONF_FILE;
	int check = 0, opt;

	disable_malloc_caches(argv);
	/* One malloc arena: worker threads come and go, and a per-thread arena each would
	 * keep its pages dirty long after the burst that created it. */
	mallopt(M_ARENA_MAX, 1);

	while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case OPT_CHECK_CONFIG:
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("berthd %s (module ABI %d)\n", PACKAGE_VERSION, BERTH_ABI_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berthd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return check ? daemon_check_config(config) : daemon_run(config);
}
