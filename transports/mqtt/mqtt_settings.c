/* SPDX-License-Identifier: Apache-2.0 */
/* MQTT transport: the instance's settings (option list, defaults, validation). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt.h"

#define PASSWORD_FILE_MAX 4096

const berth_option mqtt_options[] = {
	{ "url", BERTH_OPT_STRING, true,
	  "broker: tcp:// or mqtt:// (plain, port 1883), ssl:// or mqtts:// (TLS, port 8883), host[:port]" },
	{ "client_id", BERTH_OPT_STRING, false,
	  "MQTT client id, stable across restarts (default \"berth-\" + thing id, or + host name)" },
	{ "username", BERTH_OPT_STRING, false, "user name (Hono: auth-id@tenant)" },
	{ "password", BERTH_OPT_STRING, false, "password (prefer password_file)" },
	{ "password_file", BERTH_OPT_STRING, false,
	  "file holding the password (read at start; trailing newline ignored; not world-readable)" },
	{ "ca_file", BERTH_OPT_STRING, false, "PEM file of CAs that verify the broker (TLS)" },
	{ "ca_dir", BERTH_OPT_STRING, false, "directory of hashed CA certificates (TLS)" },
	{ "cert_file", BERTH_OPT_STRING, false, "client certificate, PEM (TLS; needs key_file)" },
	{ "key_file", BERTH_OPT_STRING, false, "client private key, PEM, unencrypted (TLS)" },
	{ "tls_insecure", BERTH_OPT_BOOL, false,
	  "skip the broker host name check (the chain is still verified; default false)" },
	{ "tls_version", BERTH_OPT_STRING, false, "\"tlsv1.3\" or \"tlsv1.2\" (default: the library's)" },
	{ "protocol", BERTH_OPT_STRING, false, "\"3.1.1\" (default) or \"5\"" },
	{ "keepalive", BERTH_OPT_INT, false, "keep-alive interval in seconds (default 30)" },
	{ "clean_session", BERTH_OPT_BOOL, false,
	  "start a new session on every connect (default false: commands queue while away)" },
	{ "session_expiry", BERTH_OPT_INT, false,
	  "MQTT 5: seconds the broker keeps the session while disconnected (default 86400)" },
	{ "qos", BERTH_OPT_INT, false, "QoS of command responses, 0 or 1 (default 1)" },
	{ "reconnect_min", BERTH_OPT_INT, false, "first reconnect delay in seconds (default 1)" },
	{ "reconnect_max", BERTH_OPT_INT, false, "longest reconnect delay in seconds (default 30)" },
	{ 0 },
};

/* Copies an optional string setting into *out (left NULL when absent). */
static int opt_string(const berth_host *host, const berth_settings *s, const char *key,
		      char **out, berth_error *err)
{
	const char *v;

	if (host->setting_string(s, key, &v) != 0)
		return 0;
	if (!*v)
		return host->setting_invalid(s, key, err, "must not be empty");
	*out = strdup(v);
	if (!*out)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return 0;
}

/* Reads an optional int setting in [min, max] into *out (kept when absent). */
static int opt_int(const berth_host *host, const berth_settings *s, const char *key,
		   long long min, long long max, long long *out, berth_error *err)
{
	long long v;

	if (host->setting_int(s, key, &v) != 0)
		return 0;
	if (v < min || v > max)
		return host->setting_invalid(s, key, err, "must be between %lld and %lld", min, max);
	*out = v;
	return 0;
}

static int opt_bool(const berth_host *host, const berth_settings *s, const char *key,
		    bool *out)
{
	bool v;

	if (host->setting_bool(s, key, &v) == 0)
		*out = v;
	return 0;
}

static int check_readable(const berth_host *host, const berth_settings *s, const char *key,
			  const char *path, bool dir, berth_error *err)
{
	struct stat st;

	if (!path)
		return 0;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return host->setting_invalid(s, key, err, "%s: %s", path, strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		return host->setting_invalid(s, key, err, "%s is not a directory", path);
	if (!dir && !S_ISREG(st.st_mode))
		return host->setting_invalid(s, key, err, "%s is not a regular file", path);
	return 0;
}

/* Reads the password file: one line; the trailing newline is not part of the password. */
static int read_password_file(const berth_host *host, const berth_settings *s,
			      const char *path, char **out, berth_error *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return host->setting_invalid(s, "password_file", err, "%s: %s", path,
					     strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return host->setting_invalid(s, "password_file", err, "%s is not a regular file",
					     path);
	}
	if (st.st_mode & S_IROTH) {
		close(fd);
		return host->setting_invalid(s, "password_file", err,
					     "%s is readable by everyone: chmod o-r it", path);
	}
	if (st.st_mode & S_IRGRP)
		host->log(BERTH_LOG_WARNING, MQTT_LOG_DOMAIN,
			  "password_file %s is readable by its group; consider chmod 600", path);
	buf = malloc(PASSWORD_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	while (len < PASSWORD_FILE_MAX) {
		n = read(fd, buf + len, PASSWORD_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			free(buf);
			return host->setting_invalid(s, "password_file", err, "%s: %s", path,
						     strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == PASSWORD_FILE_MAX) {
		free(buf);
		return host->setting_invalid(s, "password_file", err, "%s is too long", path);
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
		free(buf);
		return host->setting_invalid(s, "password_file", err,
					     "%s must hold the password on one line", path);
	}
	*out = buf;
	return 0;
}

static int dup_identity(const char *v, char **out, berth_error *err)
{
	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : berth_error_set(err, BERTH_E_NOMEM, "out of memory");
}

static int default_client_id(struct mqtt_config *cfg, berth_error *err)
{
	char hostname[HOST_NAME_MAX + 1];
	const char *base = cfg->thing_id;

	if (!base) {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			return berth_error_set(err, BERTH_E_INVALID,
					       "cannot read the host name for the default client_id: %s",
					       strerror(errno));
		hostname[sizeof(hostname) - 1] = '\0';
		base = hostname;
	}
	if (asprintf(&cfg->client_id, "berth-%s", base) < 0) {
		cfg->client_id = NULL;
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	}
	return 0;
}

static int read_all(const berth_host *host, const berth_settings *s, struct mqtt_config *cfg,
		    berth_error *err)
{
	const berth_identity *agent = host->agent;
	const char *url, *protocol;
	char *password_file = NULL;
	char why[160];
	long long v;
	int rc;

	if (host->setting_string(s, "url", &url) != 0)
		return host->setting_invalid(s, "url", err, "is required");
	if (mqtt_url_parse(url, &cfg->url, why, sizeof(why)) < 0)
		return host->setting_invalid(s, "url", err, "%s: %s", url, why);

	if (opt_string(host, s, "client_id", &cfg->client_id, err) < 0 ||
	    opt_string(host, s, "username", &cfg->username, err) < 0 ||
	    opt_string(host, s, "password", &cfg->password, err) < 0 ||
	    opt_string(host, s, "password_file", &password_file, err) < 0 ||
	    opt_string(host, s, "ca_file", &cfg->ca_file, err) < 0 ||
	    opt_string(host, s, "ca_dir", &cfg->ca_dir, err) < 0 ||
	    opt_string(host, s, "cert_file", &cfg->cert_file, err) < 0 ||
	    opt_string(host, s, "key_file", &cfg->key_file, err) < 0 ||
	    opt_string(host, s, "tls_version", &cfg->tls_version, err) < 0)
		goto fail;
	opt_bool(host, s, "tls_insecure", &cfg->tls_insecure);
	opt_bool(host, s, "clean_session", &cfg->clean_session);

	/* credentials */
	if (password_file && cfg->password) {
		rc = host->setting_invalid(s, "password_file", err,
					   "set either password or password_file, not both");
		goto out;
	}
	if (password_file && read_password_file(host, s, password_file, &cfg->password, err) < 0)
		goto fail;
	if (cfg->password && !cfg->username) {
		rc = host->setting_invalid(s, password_file ? "password_file" : "password", err,
					   "a password needs a username");
		goto out;
	}

	/* TLS */
	if (!cfg->url.tls) {
		static const char *const tls_keys[] = { "ca_file", "ca_dir", "cert_file",
							"key_file", "tls_version" };
		const char *const tls_vals[] = { cfg->ca_file, cfg->ca_dir, cfg->cert_file,
						 cfg->key_file, cfg->tls_version };

		for (size_t i = 0; i < sizeof(tls_keys) / sizeof(tls_keys[0]); i++)
			if (tls_vals[i]) {
				rc = host->setting_invalid(s, tls_keys[i], err,
							   "needs a TLS url (ssl:// or mqtts://)");
				goto out;
			}
		if (cfg->tls_insecure) {
			rc = host->setting_invalid(s, "tls_insecure", err,
						   "needs a TLS url (ssl:// or mqtts://)");
			goto out;
		}
	}
	if (!!cfg->cert_file != !!cfg->key_file) {
		rc = host->setting_invalid(s, cfg->cert_file ? "cert_file" : "key_file", err,
					   "cert_file and key_file go together");
		goto out;
	}
	if (check_readable(host, s, "ca_file", cfg->ca_file, false, err) < 0 ||
	    check_readable(host, s, "ca_dir", cfg->ca_dir, true, err) < 0 ||
	    check_readable(host, s, "cert_file", cfg->cert_file, false, err) < 0 ||
	    check_readable(host, s, "key_file", cfg->key_file, false, err) < 0)
		goto fail;
	if (cfg->tls_version && strcmp(cfg->tls_version, "tlsv1.3") != 0 &&
	    strcmp(cfg->tls_version, "tlsv1.2") != 0) {
		rc = host->setting_invalid(s, "tls_version", err,
					   "must be \"tlsv1.3\" or \"tlsv1.2\"");
		goto out;
	}

	/* protocol and session */
	cfg->protocol = MQTT_PROTOCOL_V311;
	if (host->setting_string(s, "protocol", &protocol) == 0) {
		if (strcmp(protocol, "5") == 0 || strcmp(protocol, "5.0") == 0) {
			cfg->protocol = MQTT_PROTOCOL_V5;
		} else if (strcmp(protocol, "3.1.1") != 0) {
			rc = host->setting_invalid(s, "protocol", err, "must be \"3.1.1\" or \"5\"");
			goto out;
		}
	}
	v = 30;
	if (opt_int(host, s, "keepalive", 5, 65535, &v, err) < 0)
		goto fail;
	cfg->keepalive = (int)v;
	cfg->session_expiry = cfg->clean_session ? 0 : 86400;
	if (host->setting_int(s, "session_expiry", &v) == 0 && cfg->protocol != MQTT_PROTOCOL_V5) {
		rc = host->setting_invalid(s, "session_expiry", err, "applies to protocol \"5\" only");
		goto out;
	}
	if (opt_int(host, s, "session_expiry", 0, 4294967295LL, &cfg->session_expiry, err) < 0)
		goto fail;
	v = 1;
	if (opt_int(host, s, "qos", 0, 1, &v, err) < 0)
		goto fail;
	cfg->qos = (int)v;
	v = 1;
	if (opt_int(host, s, "reconnect_min", 1, 3600, &v, err) < 0)
		goto fail;
	cfg->reconnect_min = (int)v;
	v = cfg->reconnect_min > 30 ? cfg->reconnect_min : 30;
	if (opt_int(host, s, "reconnect_max", 1, 86400, &v, err) < 0)
		goto fail;
	cfg->reconnect_max = (int)v;
	if (cfg->reconnect_max < cfg->reconnect_min) {
		rc = host->setting_invalid(s, "reconnect_max", err,
					   "must not be smaller than reconnect_min (%d)",
					   cfg->reconnect_min);
		goto out;
	}

	/* identity */
	if (agent) {
		if (dup_identity(agent->thing_id, &cfg->thing_id, err) < 0 ||
		    dup_identity(agent->tenant, &cfg->tenant, err) < 0 ||
		    (BERTH_HAS_FIELD(agent, berth_identity, device_id) &&
		     dup_identity(agent->device_id, &cfg->device_id, err) < 0))
			goto fail;
	}
	if ((cfg->thing_id && !mqtt_topic_level_valid(cfg->thing_id, false)) ||
	    (cfg->device_id && !mqtt_topic_level_valid(cfg->device_id, false)) ||
	    (cfg->tenant && !mqtt_topic_level_valid(cfg->tenant, true))) {
		rc = berth_error_set(err, BERTH_E_INVALID,
				     "agent identity (thing_id \"%s\", device_id \"%s\", tenant \"%s\") "
				     "cannot be used in MQTT topics: '/', '+' and '#' are not allowed",
				     cfg->thing_id ? cfg->thing_id : "",
				     cfg->device_id ? cfg->device_id : "", cfg->tenant ? cfg->tenant : "");
		goto out;
	}
	if (!cfg->client_id && default_client_id(cfg, err) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	free(password_file);
	return rc;
}

int mqtt_config_read(const berth_host *host, const berth_settings *s, struct mqtt_config *cfg,
		     berth_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (read_all(host, s, cfg, err) < 0) {
		mqtt_config_clear(cfg);
		return -1;
	}
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void mqtt_config_clear(struct mqtt_config *cfg)
{
	mqtt_url_clear(&cfg->url);
	free(cfg->client_id);
	free(cfg->username);
	free_secret(cfg->password);
	free(cfg->ca_file);
	free(cfg->ca_dir);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->tls_version);
	free(cfg->thing_id);
	free(cfg->tenant);
	free(cfg->device_id);
	memset(cfg, 0, sizeof(*cfg));
}
