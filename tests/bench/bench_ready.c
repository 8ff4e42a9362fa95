/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_ready: start-up time of a daemon that speaks sd_notify, from exec to READY=1.
 *
 * Binds a unix datagram socket at SOCKET_PATH, takes the time, forks and execs the
 * command with NOTIFY_SOCKET=SOCKET_PATH (stdout/stderr appended to LOG), and waits for a
 * datagram carrying the line READY=1. Then sends SIGTERM and waits for the exit. Repeats
 * -n times; prints ready.ms.<i>, ready.p50 and ready.max (milliseconds), and the exit
 * status of the last run. Exits 1 if the daemon exited or did not get ready in time.
 *
 * Usage: bench_ready -S SOCKET_PATH -L LOG [-n RUNS] [-w TIMEOUT_MS] -- COMMAND [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static bool has_ready(const char *msg)
{
	for (const char *p = msg; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, "READY=1", 7) == 0 && (p[7] == '\n' || p[7] == '\0'))
			return true;
	}
	return false;
}

static double run_once(const char *path, const char *log, int timeout_ms, char **cmd,
		       int *exit_status)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, status;
	int64_t t0, t1 = 0, deadline;
	pid_t pid;

	if (strlen(path) >= sizeof(addr.sun_path))
		die("socket path too long: %s", path);
	strcpy(addr.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("notify socket %s: %s", path, strerror(errno));

	t0 = bench_now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (lfd >= 0) {
			dup2(lfd, STDOUT_FILENO);
			dup2(lfd, STDERR_FILENO);
		}
		setenv("NOTIFY_SOCKET", path, 1);
		execv(cmd[0], cmd);
		_exit(127);
	}
	deadline = t0 + (int64_t)timeout_ms * 1000000LL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (deadline - bench_now_ns()) / 1000000LL;
		char buf[4096];
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, left > 100 ? 100 : (int)left) > 0) {
			n = recv(fd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				if (has_ready(buf)) {
					t1 = bench_now_ns();
					break;
				}
			}
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			close(fd);
			unlink(path);
			die("%s exited before READY=1 (status %d); see %s", cmd[0], status, log);
		}
	}
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(fd);
	unlink(path);
	if (!t1)
		die("%s sent no READY=1 within %d ms; see %s", cmd[0], timeout_ms, log);
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return (double)(t1 - t0) / 1e6;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *log = "/dev/null";
	struct samples s = { 0 };
	int runs = 5, timeout_ms = 15000, c, exit_status = 0;
	char key[64];

	while ((c = getopt(argc, argv, "+S:L:n:w:")) != -1) {
		switch (c) {
		case 'S': path = optarg; break;
		case 'L': log = optarg; break;
		case 'n': runs = atoi(optarg); break;
		case 'w': timeout_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s -S SOCKET -L LOG [-n RUNS] [-w MS] -- CMD...\n",
				argv[0]);
			return 2;
		}
	}
	if (!path || optind >= argc)
		die("-S SOCKET and a command are required");
	for (int i = 0; i < runs; i++) {
		double ms = run_once(path, log, timeout_ms, argv + optind, &exit_status);

		snprintf(key, sizeof(key), "ready.ms.%d", i);
		result(key, "%.1f", ms);
		samples_add(&s, ms);
		bench_sleep_ms(200);
	}
	result("ready.runs", "%d", runs);
	result("ready.p50", "%.1f", samples_pct(&s, 0.5));
	result("ready.min", "%.1f", samples_pct(&s, 0.0001));
	result("ready.max", "%.1f", samples_max(&s));
	result("ready.exit_status", "%d", exit_status);
	return 0;
}
