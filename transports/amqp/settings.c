/* SPDX-License-Identifier: Apache-2.0 */
/* AMQP transport settings: the option list, URL parsing and validation for open(). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "amqp.h"

const berth_option amqp_options[] = {
	{ "url", BERTH_OPT_STRING, true,
	  "amqp://host[:port] (default port 5672) or amqps://host[:port] (5671)" },
	{ "username", BERTH_OPT_STRING, false, "SASL PLAIN user; Hono: auth-id@tenant" },
	{ "password", BERTH_OPT_STRING, false, "SASL PLAIN password" },
	{ "password_file", BERTH_OPT_STRING, false,
	  "file holding the password (a trailing newline is stripped)" },
	{ "sasl_mechanisms", BERTH_OPT_STRING, false,
	  "PLAIN, EXTERNAL, ANONYMOUS or NONE, space-separated (default from the credentials)" },
	{ "ca_file", BERTH_OPT_STRING, false, "PEM file of CAs that sign the peer's certificate" },
	{ "cert_file", BERTH_OPT_STRING, false, "client certificate (PEM), for SASL EXTERNAL" },
	{ "key_file", BERTH_OPT_STRING, false, "client key (PEM); default: cert_file" },
	{ "tls_insecure", BERTH_OPT_BOOL, false,
	  "skip peer certificate and host name verification (tests only; default false)" },
	{ "command_source", BERTH_OPT_STRING, false,
	  "receiver link source (default \"command\"; gateway: \"command//<device>\")" },
	{ "event_address", BERTH_OPT_STRING, false,
	  "address of twin events (default \"event\"; gateway: \"event/<tenant>/<device>\")" },
	{ "credit", BERTH_OPT_INT, false, "commands in flight at most (default 32)" },
	{ "idle_timeout", BERTH_OPT_INT, false,
	  "seconds; heartbeats at half of it (default 60, 0 = off)" },
	{ "reconnect_min", BERTH_OPT_FLOAT, false, "first reconnect delay, seconds (default 1)" },
	{ "reconnect_max", BERTH_OPT_FLOAT, false,
	  "longest reconnect delay, seconds (default 30)" },
	{ "container_id", BERTH_OPT_STRING, false,
	  "AMQP container id (default berth-<thing or host>)" },
	{ "queue_limit", BERTH_OPT_INT, false,
	  "replies and events kept until settled, at most (default 1024)" },
	{ "max_message_size", BERTH_OPT_INT, false,
	  "largest command accepted, bytes (default 1048576)" },
	{ 0 }
};

#define PASSWORD_FILE_MAX 4096

int settings_parse_url(const char *url, char **host, char port[8], bool *tls, char *why,
		       size_t why_len)
{
	const char *p, *h, *hend;
	size_t hlen;
	char tmp[INET6_ADDRSTRLEN];

	*host = NULL;
	if (strncasecmp(url, "amqps://", 8) == 0) {
		*tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "amqp://", 7) == 0) {
		*tls = false;
		p = url + 7;
	} else {
		snprintf(why, why_len, "\"%s\": expected amqp://host[:port] or amqps://host[:port]",
			 url);
		return -1;
	}
	if (strpbrk(p, "@")) {
		snprintf(why, why_len, "user information in the URL is not supported: "
			 "use username and password");
		return -1;
	}
	if (*p == '[') {
		h = p + 1;
		hend = strchr(h, ']');
		if (!hend) {
			snprintf(why, why_len, "\"%s\": missing ']' after the IPv6 address", url);
			return -1;
		}
		hlen = (size_t)(hend - h);
		if (hlen == 0 || hlen >= sizeof(tmp)) {
			snprintf(why, why_len, "\"%s\": not an IPv6 address", url);
			return -1;
		}
		memcpy(tmp, h, hlen);
		tmp[hlen] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, tmp, &a6) != 1) {
			snprintf(why, why_len, "\"%s\": \"%s\" is not an IPv6 address", url, tmp);
			return -1;
		}
		p = hend + 1;
	} else {
		h = p;
		hlen = strcspn(p, ":/");
		if (hlen == 0) {
			snprintf(why, why_len, "\"%s\": no host", url);
			return -1;
		}
		if (hlen > 253) {
			snprintf(why, why_len, "host name longer than 253 characters");
			return -1;
		}
		for (size_t i = 0; i < hlen; i++) {
			unsigned char c = (unsigned char)h[i];

			if (!isalnum(c) && c != '.' && c != '-' && c != '_') {
				snprintf(why, why_len, "\"%s\": invalid character '%c' in the host",
					 url, isprint(c) ? c : '?');
				return -1;
			}
		}
		p = h + hlen;
	}
	snprintf(port, 8, "%s", *tls ? "5671" : "5672");
	if (*p == ':') {
		char *end;
		long n;

		p++;
		errno = 0;
		n = strtol(p, &end, 10);
		if (end == p || !isdigit((unsigned char)*p) || errno || n < 1 || n > 65535) {
			snprintf(why, why_len, "\"%s\": the port must be 1..65535", url);
			return -1;
		}
		snprintf(port, 8, "%ld", n);
		p = end;
	}
	if (*p == '/')
		p++;
	if (*p) {
		snprintf(why, why_len, "\"%s\": unexpected \"%s\" after host and port", url, p);
		return -1;
	}
	*host = strndup(h, hlen);
	if (!*host) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

static bool is_address_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* A copy of the string setting `key`, or of `def` when it is absent. Empty strings are
 * rejected. Returns 0, or -1 with err filled. */
static int get_string(const berth_host *host, const berth_settings *s, const char *key,
		      const char *def, char **out, berth_error *err)
{
	const char *v = NULL;
	int rc = host->setting_string(s, key, &v);

	*out = NULL;
	if (rc < 0)
		return host->setting_invalid(s, key, err, "expected a string");
	if (rc > 0)
		v = def;
	if (!v)
		return 0;
	if (!*v)
		return host->setting_invalid(s, key, err, "must not be empty");
	if (strlen(v) > AMQP_FIELD_MAX)
		return host->setting_invalid(s, key, err, "longer than %d bytes", AMQP_FIELD_MAX);
	*out = strdup(v);
	if (!*out)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return 0;
}

static int get_int(const berth_host *host, const berth_settings *s, const char *key,
		   long long def, long long min, long long max, long long *out, berth_error *err)
{
	int rc = host->setting_int(s, key, out);

	if (rc < 0)
		return host->setting_invalid(s, key, err, "expected an integer");
	if (rc > 0)
		*out = def;
	if (*out < min || *out > max)
		return host->setting_invalid(s, key, err, "must be %lld..%lld, not %lld", min, max,
					     *out);
	return 0;
}

static int get_seconds_ms(const berth_host *host, const berth_settings *s, const char *key,
			  double def, int *out_ms, berth_error *err)
{
	double v;
	int rc = host->setting_float(s, key, &v);

	if (rc < 0)
		return host->setting_invalid(s, key, err, "expected a number of seconds");
	if (rc > 0)
		v = def;
	if (!(v >= 0.01 && v <= 86400))
		return host->setting_invalid(s, key, err, "must be 0.01..86400 seconds");
	*out_ms = (int)(v * 1000 + 0.5);
	return 0;
}

static int check_readable(const berth_host *host, const berth_settings *s, const char *key,
			  const char *path, berth_error *err)
{
	if (path && access(path, R_OK) < 0)
		return host->setting_invalid(s, key, err, "%s: %s", path, strerror(errno));
	return 0;
}

/* Reads password_file: at most PASSWORD_FILE_MAX bytes, trailing CR/LF stripped. */
static int read_password_file(const berth_host *host, const berth_settings *s,
			      const char *path, char **out, berth_error *err)
{
	char buf[PASSWORD_FILE_MAX + 1];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return host->setting_invalid(s, "password_file", err, "%s: %s", path,
					     strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return host->setting_invalid(s, "password_file", err, "%s: %s", path,
						     strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			close(fd);
			return host->setting_invalid(s, "password_file", err,
						     "%s: longer than %d bytes", path,
						     PASSWORD_FILE_MAX);
		}
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(buf, '\0', len))
		return host->setting_invalid(s, "password_file", err,
					     "%s: empty or not a text password", path);
	*out = strndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	if (!*out)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return 0;
}

/* Normalises sasl_mechanisms to upper case; NULL result for "NONE". */
static int parse_mechanisms(const berth_host *host, const berth_settings *s, char *mechs,
			    bool *plain, bool *external, bool *none, berth_error *err)
{
	char *save = NULL, *copy = strdup(mechs);
	int n = 0;

	if (!copy)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	*plain = *external = *none = false;
	for (char *p = mechs; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	for (char *p = copy; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	for (char *t = strtok_r(copy, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		n++;
		if (strcmp(t, "PLAIN") == 0)
			*plain = true;
		else if (strcmp(t, "EXTERNAL") == 0)
			*external = true;
		else if (strcmp(t, "NONE") == 0)
			*none = true;
		else if (strcmp(t, "ANONYMOUS") != 0) {
			host->setting_invalid(s, "sasl_mechanisms", err,
					      "unknown mechanism \"%s\" (PLAIN, EXTERNAL, "
					      "ANONYMOUS or NONE)", t);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (n == 0)
		return host->setting_invalid(s, "sasl_mechanisms", err, "no mechanism given");
	if (*none && n > 1)
		return host->setting_invalid(s, "sasl_mechanisms", err,
					     "NONE cannot be combined with mechanisms");
	for (char *p = mechs; *p; p++)
		if (*p == ',')
			*p = ' ';
	return 0;
}

static int make_ssl_domain(const berth_host *host, const berth_settings *s,
			   const struct amqp_settings *cfg, pn_ssl_domain_t **out,
			   berth_error *err)
{
	pn_ssl_domain_t *d = pn_ssl_domain(PN_SSL_MODE_CLIENT);

	*out = NULL;
	if (!d)
		return berth_error_set(err, BERTH_E_RUNTIME, "cannot initialise TLS (OpenSSL)");
	if (cfg->ca_file && pn_ssl_domain_set_trusted_ca_db(d, cfg->ca_file) != 0) {
		pn_ssl_domain_free(d);
		return host->setting_invalid(s, "ca_file", err, "%s: not a PEM file of CAs",
					     cfg->ca_file);
	}
	if (cfg->cert_file &&
	    pn_ssl_domain_set_credentials(d, cfg->cert_file, cfg->key_file, NULL) != 0) {
		pn_ssl_domain_free(d);
		return host->setting_invalid(s, "cert_file", err,
					     "%s with key %s: unreadable, not PEM, or the key "
					     "does not match the certificate",
					     cfg->cert_file, cfg->key_file);
	}
	if (pn_ssl_domain_set_peer_authentication(d, cfg->tls_insecure ? PN_SSL_ANONYMOUS_PEER
								     : PN_SSL_VERIFY_PEER_NAME,
						  NULL) != 0) {
		pn_ssl_domain_free(d);
		return host->setting_invalid(s, cfg->tls_insecure ? "tls_insecure" : "ca_file",
					     err, "cannot set up peer verification");
	}
	*out = d;
	return 0;
}

int settings_read(const berth_host *host, const berth_settings *s, struct amqp_settings *cfg,
		  pn_ssl_domain_t **ssl_domain, berth_error *err)
{
	char why[512];
	char *password_file = NULL, *mechs = NULL;
	long long n;
	bool b, plain = false, external = false, none = false;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	*ssl_domain = NULL;
	if (get_string(host, s, "url", NULL, &cfg->url, err) < 0)
		goto fail;
	if (!cfg->url) {
		host->setting_invalid(s, "url", err, "required");
		goto fail;
	}
	if (settings_parse_url(cfg->url, &cfg->host, cfg->port, &cfg->tls, why, sizeof(why)) < 0) {
		host->setting_invalid(s, "url", err, "%s", why);
		goto fail;
	}
	if (get_string(host, s, "username", NULL, &cfg->username, err) < 0 ||
	    get_string(host, s, "password", NULL, &cfg->password, err) < 0 ||
	    get_string(host, s, "password_file", NULL, &password_file, err) < 0 ||
	    get_string(host, s, "sasl_mechanisms", NULL, &mechs, err) < 0 ||
	    get_string(host, s, "ca_file", NULL, &cfg->ca_file, err) < 0 ||
	    get_string(host, s, "cert_file", NULL, &cfg->cert_file, err) < 0 ||
	    get_string(host, s, "key_file", NULL, &cfg->key_file, err) < 0 ||
	    get_string(host, s, "command_source", "command", &cfg->command_source, err) < 0 ||
	    get_string(host, s, "event_address", "event", &cfg->event_address, err) < 0 ||
	    get_string(host, s, "container_id", NULL, &cfg->container_id, err) < 0)
		goto fail;

	if (password_file) {
		if (cfg->password) {
			host->setting_invalid(s, "password_file", err,
					      "give either password or password_file");
			goto fail;
		}
		if (read_password_file(host, s, password_file, &cfg->password, err) < 0)
			goto fail;
	}
	if (cfg->password && !cfg->username) {
		host->setting_invalid(s, password_file ? "password_file" : "password", err,
				      "a password needs a username");
		goto fail;
	}

	/* TLS */
	rc = host->setting_bool(s, "tls_insecure", &b);
	if (rc < 0) {
		host->setting_invalid(s, "tls_insecure", err, "expected a boolean");
		goto fail;
	}
	cfg->tls_insecure = rc == 0 && b;
	if (!cfg->tls) {
		const char *key = cfg->ca_file ? "ca_file" : cfg->cert_file ? "cert_file" :
				  cfg->key_file ? "key_file" : cfg->tls_insecure ? "tls_insecure" :
				  NULL;

		if (key) {
			host->setting_invalid(s, key, err, "needs an amqps:// url");
			goto fail;
		}
	}
	if (cfg->key_file && !cfg->cert_file) {
		host->setting_invalid(s, "key_file", err, "needs cert_file");
		goto fail;
	}
	if (cfg->cert_file && !cfg->key_file) {
		cfg->key_file = strdup(cfg->cert_file);
		if (!cfg->key_file) {
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	if (check_readable(host, s, "ca_file", cfg->ca_file, err) < 0 ||
	    check_readable(host, s, "cert_file", cfg->cert_file, err) < 0 ||
	    check_readable(host, s, "key_file", cfg->key_file, err) < 0)
		goto fail;

	/* SASL */
	if (!mechs) {
		const char *def = cfg->cert_file && !cfg->username ? "EXTERNAL" :
				  cfg->username ? "PLAIN" : "ANONYMOUS";

		mechs = strdup(def);
		if (!mechs) {
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	if (parse_mechanisms(host, s, mechs, &plain, &external, &none, err) < 0)
		goto fail;
	if (plain && (!cfg->username || !cfg->password)) {
		host->setting_invalid(s, "sasl_mechanisms", err,
				      "PLAIN needs username and password (or password_file)");
		goto fail;
	}
	if (external && !cfg->cert_file) {
		host->setting_invalid(s, "sasl_mechanisms", err,
				      "EXTERNAL needs an amqps:// url and cert_file");
		goto fail;
	}
	if (cfg->username && !plain) {
		host->setting_invalid(s, "username", err, "is only used with SASL PLAIN");
		goto fail;
	}
	if (none) {
		free(mechs);
		mechs = NULL;
	}
	cfg->mechanisms = mechs;
	mechs = NULL;

	/* numbers */
	if (get_int(host, s, "credit", 32, 1, 10000, &n, err) < 0)
		goto fail;
	cfg->credit = (int)n;
	if (get_int(host, s, "idle_timeout", 60, 0, 3600, &n, err) < 0)
		goto fail;
	cfg->idle_timeout_ms = (unsigned)n * 1000u;
	if (get_int(host, s, "queue_limit", 1024, 1, 1000000, &n, err) < 0)
		goto fail;
	cfg->queue_limit = (int)n;
	if (get_int(host, s, "max_message_size", 1048576, 1024, 64 * 1048576, &n, err) < 0)
		goto fail;
	cfg->max_message_size = (size_t)n;
	if (get_seconds_ms(host, s, "reconnect_min", 1, &cfg->reconnect_min_ms, err) < 0 ||
	    get_seconds_ms(host, s, "reconnect_max", 30, &cfg->reconnect_max_ms, err) < 0)
		goto fail;
	if (cfg->reconnect_max_ms < cfg->reconnect_min_ms) {
		host->setting_invalid(s, "reconnect_max", err,
				      "must not be less than reconnect_min");
		goto fail;
	}

	if (!cfg->container_id) {
		char hn[256] = "";
		const char *who = host->agent && host->agent->thing_id ? host->agent->thing_id
								       : NULL;
		size_t len;

		if (!who) {
			if (gethostname(hn, sizeof(hn) - 1) < 0 || !hn[0])
				snprintf(hn, sizeof(hn), "unknown");
			who = hn;
		}
		len = strlen(who) + sizeof("berth-");
		cfg->container_id = malloc(len);
		if (!cfg->container_id) {
			berth_error_set(err, BERTH_E_NOMEM, "out of memory");
			goto fail;
		}
		snprintf(cfg->container_id, len, "berth-%s", who);
	}

	if (cfg->tls && make_ssl_domain(host, s, cfg, ssl_domain, err) < 0)
		goto fail;
	if (cfg->tls && !cfg->tls_insecure && is_address_literal(cfg->host))
		host->log(BERTH_LOG_WARNING, AMQP_LOG,
			  "%s: qpid-proton verifies the server against DNS names and the CN "
			  "only, not IP addresses: use a host name in the URL", cfg->url);
	if (cfg->tls_insecure)
		host->log(BERTH_LOG_WARNING, AMQP_LOG,
			  "%s: tls_insecure: the peer's certificate and name are not verified",
			  cfg->url);
	if (plain && !cfg->tls)
		host->log(BERTH_LOG_WARNING, AMQP_LOG,
			  "%s: SASL PLAIN without TLS sends the password in clear text", cfg->url);
	free(password_file);
	return 0;

fail:
	free(password_file);
	free(mechs);
	settings_free(cfg);
	return -1;
}

void settings_free(struct amqp_settings *cfg)
{
	free(cfg->url);
	free(cfg->host);
	free(cfg->username);
	if (cfg->password) {
		explicit_bzero(cfg->password, strlen(cfg->password));
		free(cfg->password);
	}
	free(cfg->mechanisms);
	free(cfg->ca_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->command_source);
	free(cfg->event_address);
	free(cfg->container_id);
	memset(cfg, 0, sizeof(*cfg));
}
