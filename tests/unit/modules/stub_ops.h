/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test modules: trivial driver ops shared by the modules in this folder. Nothing here
 * talks to a runtime; ops that would need one answer BERTH_E_UNSUPPORTED.
 */
#ifndef BERTH_TEST_STUB_OPS_H
#define BERTH_TEST_STUB_OPS_H

#include <berth/berth.h>

#define STUB __attribute__((unused)) static

STUB int stub_open(const berth_host *host, const berth_settings *settings,
		   berth_backend_handle *handle, void **instance, berth_error *err)
{
	*instance = NULL;
	return 0;
}

STUB void stub_close(void *instance)
{
}

STUB uint64_t stub_capabilities(void *instance)
{
	return 0;
}

STUB int stub_create(void *instance, const berth_container_spec *spec, unsigned flags,
		     char **native_id_out, berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNSUPPORTED, "test backend: create");
}

STUB int stub_id_op(void *instance, const char *native_id, unsigned flags, berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNSUPPORTED, "test backend: no containers");
}

STUB int stub_kill(void *instance, const char *native_id, int signal, unsigned flags,
		   berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNSUPPORTED, "test backend: kill");
}

STUB int stub_inspect(void *instance, const char *native_id, berth_container_info *info,
		      berth_error *err)
{
	return berth_error_set(err, BERTH_E_NOT_FOUND, "test backend: no such container: %s",
			       native_id);
}

STUB int stub_list(void *instance, berth_list_cb cb, void *userdata, unsigned flags,
		   berth_error *err)
{
	return 0; /* no containers */
}

/* A complete backend table named `n`. */
#define STUB_BACKEND(n)                                                                 \
	{                                                                               \
		.size = sizeof(berth_backend_driver),                                   \
		.name = (n),                                                            \
		.description = "test backend " n,                                       \
		.open = stub_open,                                                      \
		.close = stub_close,                                                    \
		.capabilities = stub_capabilities,                                      \
		.create = stub_create,                                                  \
		.start = stub_id_op,                                                    \
		.kill = stub_kill,                                                      \
		.remove = stub_id_op,                                                   \
		.inspect = stub_inspect,                                                \
		.list = stub_list,                                                      \
	}

STUB int stub_topen(const berth_host *host, const berth_settings *settings,
		    berth_transport_handle *handle, void **instance, berth_error *err)
{
	*instance = NULL;
	return 0;
}

STUB int stub_start(void *instance, berth_error *err)
{
	return 0;
}

STUB int stub_send_reply(void *instance, const berth_reply *reply, berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNAVAILABLE, "test transport: not connected");
}

STUB int stub_send_event(void *instance, const berth_outbound_event *ev, berth_error *err)
{
	return berth_error_set(err, BERTH_E_UNAVAILABLE, "test transport: not connected");
}

#define STUB_TRANSPORT(n)                                                               \
	{                                                                               \
		.size = sizeof(berth_transport_driver),                                 \
		.name = (n),                                                            \
		.description = "test transport " n,                                     \
		.open = stub_topen,                                                     \
		.capabilities = stub_capabilities,                                      \
		.start = stub_start,                                                    \
		.send_reply = stub_send_reply,                                          \
		.send_event = stub_send_event,                                          \
		.close = stub_close,                                                    \
	}

#endif
