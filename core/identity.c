/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's identity (thing id, tenant), configured or learned. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char thing[IDENTITY_MAX];
static char tenant_id[IDENTITY_MAX];

void identity_set(const char *thing_id, const char *tenant)
{
	pthread_mutex_lock(&lock);
	snprintf(thing, sizeof(thing), "%s", thing_id ? thing_id : "");
	snprintf(tenant_id, sizeof(tenant_id), "%s", tenant ? tenant : "");
	pthread_mutex_unlock(&lock);
}

bool identity_thing(char *buf, size_t len)
{
	bool known;

	pthread_mutex_lock(&lock);
	known = thing[0] && strlen(thing) < len;
	snprintf(buf, len, "%s", known ? thing : "");
	pthread_mutex_unlock(&lock);
	return known;
}

void identity_tenant(char *buf, size_t len)
{
	pthread_mutex_lock(&lock);
	snprintf(buf, len, "%s", tenant_id);
	pthread_mutex_unlock(&lock);
}

void identity_clear(void)
{
	identity_set(NULL, NULL);
}
