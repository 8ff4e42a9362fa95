/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "restsettings.h"

int restsettings_socket(const berth_host *host, const berth_settings *s, const char *def,
			char **path, berth_error *err)
{
	const char *str = def;

	if (host->setting_string(s, "socket", &str) < 0)
		return host->setting_invalid(s, "socket", err, "must be a string");
	if (strncmp(str, "unix://", 7) == 0)
		str += 7;
	else if (strstr(str, "://"))
		return host->setting_invalid(s, "socket", err,
					     "only unix sockets are supported (\"%s\")", str);
	if (str[0] != '/')
		return host->setting_invalid(s, "socket", err,
					     "must be an absolute path (\"%s\")", str);
	if (strlen(str) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return host->setting_invalid(s, "socket", err, "path longer than %zu bytes",
					     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	*path = strdup(str);
	if (!*path)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	return 0;
}

int restsettings_timing(const berth_host *host, const berth_settings *s, int *timeout_s,
			bool *pull, int *stop_grace_s, berth_error *err)
{
	long long n;
	bool b;

	if (host->setting_int(s, "timeout", &n) == 0) {
		if (n < 1 || n > 3600)
			return host->setting_invalid(s, "timeout", err,
						     "%lld is out of range (1 to 3600 seconds)", n);
		*timeout_s = (int)n;
	}
	if (host->setting_bool(s, "pull", &b) == 0)
		*pull = b;
	if (host->setting_int(s, "stop_grace", &n) == 0) {
		if (n < 0 || n > 3600)
			return host->setting_invalid(s, "stop_grace", err,
						     "%lld is out of range (0 to 3600 seconds)", n);
		*stop_grace_s = (int)n;
	}
	return 0;
}
