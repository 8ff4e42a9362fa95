/* SPDX-License-Identifier: Apache-2.0 */
/* MQTT transport: the broker URL (scheme://host[:port][/]), a pure function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mqtt_topics.h"

static const struct {
	const char *scheme;
	bool tls;
	int port;
} schemes[] = {
	{ "tcp://", false, 1883 },
	{ "mqtt://", false, 1883 },
	{ "ssl://", true, 8883 },
	{ "mqtts://", true, 8883 },
};

static int fail(char *why, size_t why_len, const char *msg)
{
	snprintf(why, why_len, "%s", msg);
	return -1;
}

/* Parses a decimal port 1..65535 from [p, end). */
static int parse_port(const char *p, const char *end)
{
	long v = 0;

	if (p == end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int mqtt_url_parse(const char *url, struct mqtt_url *out, char *why, size_t why_len)
{
	const char *p = NULL, *host, *host_end, *end;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!url)
		return fail(why, why_len, "no URL");
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);

		if (strncasecmp(url, schemes[i].scheme, n) == 0) {
			p = url + n;
			break;
		}
	}
	if (!p)
		return fail(why, why_len,
			    "the URL must start with tcp://, mqtt:// (plain) or ssl://, mqtts:// (TLS)");
	out->tls = schemes[i].tls;
	out->port = schemes[i].port;

	end = p + strlen(p);
	if (end > p && end[-1] == '/')
		end--;
	if (memchr(p, '/', (size_t)(end - p)) || memchr(p, '?', (size_t)(end - p)))
		return fail(why, why_len, "the URL must not have a path or query: scheme://host[:port]");
	if (memchr(p, '@', (size_t)(end - p)))
		return fail(why, why_len,
			    "the URL must not carry credentials: use the username and password settings");

	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end || host_end == host)
			return fail(why, why_len, "an IPv6 address must be written [address]");
		p = host_end + 1;
	} else {
		host = p;
		host_end = memchr(host, ':', (size_t)(end - host));
		if (!host_end)
			host_end = end;
		p = host_end;
		if (host_end == host)
			return fail(why, why_len, "the URL has no host");
	}
	if (p < end) {
		if (*p != ':')
			return fail(why, why_len, "unexpected text after the host");
		out->port = parse_port(p + 1, end);
		if (out->port < 0)
			return fail(why, why_len, "the port must be a number from 1 to 65535");
	}
	out->host = strndup(host, (size_t)(host_end - host));
	if (!out->host)
		return fail(why, why_len, "out of memory");
	return 0;
}

void mqtt_url_clear(struct mqtt_url *u)
{
	free(u->host);
	memset(u, 0, sizeof(*u));
}
