/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMQP transport: wire messages <-> core structs. Decodes commands, encodes replies and
 * events. Uses only pn_message_t / pn_data_t (no engine objects), so it runs on any
 * thread.
 *
 * The reply token. AMQP correlation-ids are typed (string, uuid, ulong, binary) and a
 * reply must carry the command's id with its type. The core gets a readable
 * correlation_id (the string itself, a canonical uuid, a decimal ulong, lower-case hex
 * of a binary) and an opaque reply_to that it copies into berth_reply unchanged:
 *
 *     reply_to = <type> ':' <the command's reply-to address>
 *     type     = 's' string | 'u' uuid | 'l' ulong | 'b' binary | 'n' no correlation-id
 *
 * message_encode_reply() rebuilds the typed id from the pair. If the core hands back a
 * correlation_id that does not parse as the recorded type, it is sent as a string.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proton/codec.h>
#include <proton/error.h>

#include "amqp.h"

void out_free(struct amqp_out *o)
{
	if (!o)
		return;
	free(o->address);
	free(o->bytes);
	free(o);
}

void message_command_clear(struct amqp_command *cmd)
{
	free(cmd->body);
	free(cmd->subject);
	free(cmd->reply_to);
	free(cmd->correlation_id);
	free(cmd->content_type);
	free(cmd->device_id);
	memset(cmd, 0, sizeof(*cmd));
}

/* A bounded copy of a proton C string (NULL stays NULL). Returns 0, or -1 (too long, or
 * out of memory) with why filled. */
static int copy_field(const char *what, const char *v, char **out, char *why, size_t why_len)
{
	*out = NULL;
	if (!v)
		return 0;
	if (strlen(v) > AMQP_FIELD_MAX) {
		snprintf(why, why_len, "%s longer than %d bytes", what, AMQP_FIELD_MAX);
		return -1;
	}
	*out = strdup(v);
	if (!*out) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

static char *dup_bytes(pn_bytes_t b)
{
	char *s = malloc(b.size + 1);

	if (!s)
		return NULL;
	if (b.size)
		memcpy(s, b.start, b.size);
	s[b.size] = '\0';
	return s;
}

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes `n` bytes of hex from s (exactly 2n digits, no more). */
static int hex_decode(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value((unsigned char)s[2 * i]);
		int lo = hi < 0 ? -1 : hex_value((unsigned char)s[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

static void uuid_format(const pn_uuid_t *u, char out[37])
{
	const unsigned char *b = (const unsigned char *)u->bytes;

	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

static int uuid_parse(const char *s, pn_uuid_t *u)
{
	unsigned char *b = (unsigned char *)u->bytes;
	size_t k = 0;

	if (strlen(s) != 36)
		return -1;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = hex_value((unsigned char)s[i]), lo = hex_value((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		b[k++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* The readable correlation-id and its type tag. Returns 0 (absent: *out NULL, tag 'n'),
 * or -1 with why. */
static int correlation_string(pn_msgid_t id, char **out, char *tag, char *why, size_t why_len)
{
	*out = NULL;
	*tag = 'n';
	switch (id.type) {
	case PN_NULL:
		return 0;
	case PN_STRING:
	case PN_SYMBOL:
		if (id.u.as_bytes.size > AMQP_FIELD_MAX ||
		    memchr(id.u.as_bytes.start, '\0', id.u.as_bytes.size)) {
			snprintf(why, why_len, "correlation-id: a string longer than %d bytes or "
				 "with a NUL character", AMQP_FIELD_MAX);
			return -1;
		}
		*out = dup_bytes(id.u.as_bytes);
		*tag = 's';
		break;
	case PN_UUID:
		*out = malloc(37);
		if (*out)
			uuid_format(&id.u.as_uuid, *out);
		*tag = 'u';
		break;
	case PN_ULONG:
		*out = malloc(24);
		if (*out)
			snprintf(*out, 24, "%" PRIu64, id.u.as_ulong);
		*tag = 'l';
		break;
	case PN_BINARY:
		if (id.u.as_bytes.size == 0 || id.u.as_bytes.size > AMQP_CID_BINARY_MAX) {
			snprintf(why, why_len, "correlation-id: binary of %zu bytes (1..%d)",
				 id.u.as_bytes.size, AMQP_CID_BINARY_MAX);
			return -1;
		}
		*out = malloc(id.u.as_bytes.size * 2 + 1);
		if (*out)
			hex_encode((const unsigned char *)id.u.as_bytes.start, id.u.as_bytes.size,
				   *out);
		*tag = 'b';
		break;
	default:
		snprintf(why, why_len, "correlation-id of type %s", pn_type_name(id.type));
		return -1;
	}
	if (!*out) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

/* application-properties["device_id"] as a string, or NULL. */
static int find_device_id(pn_message_t *m, char **out, char *why, size_t why_len)
{
	pn_data_t *p = pn_message_properties(m);
	int rc = 0;

	*out = NULL;
	pn_data_rewind(p);
	if (!pn_data_next(p) || pn_data_type(p) != PN_MAP)
		return 0;
	pn_data_enter(p);
	while (pn_data_next(p)) {
		pn_type_t kt = pn_data_type(p);
		pn_bytes_t k = kt == PN_STRING ? pn_data_get_string(p)
			     : kt == PN_SYMBOL ? pn_data_get_symbol(p) : pn_bytes(0, NULL);
		bool match = k.size == 9 && memcmp(k.start, "device_id", 9) == 0;

		if (!pn_data_next(p))
			break;
		if (!match || *out)
			continue;
		if (pn_data_type(p) != PN_STRING) {
			snprintf(why, why_len, "application property device_id is a %s, not a "
				 "string", pn_type_name(pn_data_type(p)));
			rc = -1;
			break;
		}
		pn_bytes_t v = pn_data_get_string(p);

		if (v.size == 0 || v.size > AMQP_FIELD_MAX || memchr(v.start, '\0', v.size)) {
			snprintf(why, why_len, "application property device_id: empty, too long "
				 "or with a NUL character");
			rc = -1;
			break;
		}
		*out = dup_bytes(v);
		if (!*out) {
			snprintf(why, why_len, "out of memory");
			rc = -1;
			break;
		}
	}
	pn_data_exit(p);
	return rc;
}

int message_decode_command(const char *bytes, size_t len, struct amqp_command *cmd,
			   char *why, size_t why_len)
{
	pn_message_t *m = pn_message();
	pn_data_t *body;
	pn_bytes_t b;
	const char *reply_to;
	char *cid = NULL, tag = 'n';
	int rc = -1;

	memset(cmd, 0, sizeof(*cmd));
	if (!m) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	if (len == 0 || bytes[0] != 0x00) { /* every section starts with a descriptor */
		snprintf(why, why_len, "not an AMQP 1.0 message");
		goto out;
	}
	if (pn_message_decode(m, bytes, len) != 0) {
		snprintf(why, why_len, "not an AMQP 1.0 message: %s",
			 pn_error_text(pn_message_error(m)));
		goto out;
	}
	body = pn_message_body(m);
	pn_data_rewind(body);
	if (!pn_data_next(body)) {
		snprintf(why, why_len, "the message has no body");
		goto out;
	}
	switch (pn_data_type(body)) {
	case PN_BINARY:
		b = pn_data_get_binary(body);
		break;
	case PN_STRING:
		b = pn_data_get_string(body);
		break;
	case PN_NULL:
		snprintf(why, why_len, "the message has no body");
		goto out;
	default:
		snprintf(why, why_len, "unsupported body: %s (expected a Data section or an "
			 "AmqpValue string or binary)", pn_type_name(pn_data_type(body)));
		goto out;
	}
	if (b.size == 0) {
		snprintf(why, why_len, "the message body is empty");
		goto out;
	}
	cmd->body = dup_bytes(b);
	if (!cmd->body) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	cmd->body_len = b.size;

	if (copy_field("subject", pn_message_get_subject(m), &cmd->subject, why, why_len) < 0 ||
	    copy_field("content-type", pn_message_get_content_type(m), &cmd->content_type, why,
		       why_len) < 0)
		goto out;
	if (correlation_string(pn_message_get_correlation_id(m), &cid, &tag, why, why_len) < 0)
		goto out;
	cmd->correlation_id = cid;
	reply_to = pn_message_get_reply_to(m);
	if (reply_to && *reply_to) {
		size_t n = strlen(reply_to);

		if (n > AMQP_FIELD_MAX) {
			snprintf(why, why_len, "reply-to longer than %d bytes", AMQP_FIELD_MAX);
			goto out;
		}
		cmd->reply_to = malloc(n + 3);
		if (!cmd->reply_to) {
			snprintf(why, why_len, "out of memory");
			goto out;
		}
		cmd->reply_to[0] = tag;
		cmd->reply_to[1] = ':';
		memcpy(cmd->reply_to + 2, reply_to, n + 1);
	}
	if (find_device_id(m, &cmd->device_id, why, why_len) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		message_command_clear(cmd);
	pn_message_free(m);
	return rc;
}

/* Encodes m into a malloc()ed buffer. */
static int encode(pn_message_t *m, char **out, size_t *out_len, berth_error *err)
{
	pn_rwbytes_t buf = { 0, NULL };
	ssize_t n = pn_message_encode2(m, &buf);

	if (n < 0) {
		free(buf.start);
		return berth_error_set(err, BERTH_E_INTERNAL, "cannot encode the AMQP message: %s",
				       pn_error_text(pn_message_error(m)));
	}
	*out = buf.start;
	*out_len = (size_t)n;
	return 0;
}

static int set_body(pn_message_t *m, const char *payload, size_t len, const char *content_type)
{
	pn_data_t *body = pn_message_body(m);

	if (pn_message_set_content_type(m, content_type) != 0)
		return -1;
	if (pn_data_put_binary(body, pn_bytes(len, payload)) != 0)
		return -1;
	return pn_message_set_inferred(m, true); /* binary + inferred = one Data section */
}

int message_encode_reply(const berth_reply *r, char **out, size_t *out_len, char **address,
			 berth_error *err)
{
	const char *token = BERTH_HAS_FIELD(r, berth_reply, reply_to) ? r->reply_to : NULL;
	const char *cid = BERTH_HAS_FIELD(r, berth_reply, correlation_id) ? r->correlation_id
									 : NULL;
	const char *ct = BERTH_HAS_FIELD(r, berth_reply, content_type) ? r->content_type : NULL;
	const char *addr;
	char tag = 's';
	pn_message_t *m;
	pn_msgid_t id = { .type = PN_NULL };
	unsigned char bin[AMQP_CID_BINARY_MAX];
	pn_data_t *props;
	int rc = -1;

	*out = NULL;
	*address = NULL;
	if (!BERTH_HAS_FIELD(r, berth_reply, payload_len))
		return berth_error_set(err, BERTH_E_INVALID, "reply struct too small");
	if (!token)
		return berth_error_set(err, BERTH_E_INVALID, "the command had no reply-to address");
	if (!r->payload && r->payload_len)
		return berth_error_set(err, BERTH_E_INVALID, "reply without payload");
	if (token[0] && strchr("sulbn", token[0]) && token[1] == ':') {
		tag = token[0];
		addr = token + 2;
	} else {
		addr = token; /* not ours: a plain address, string correlation-id */
	}
	if (!*addr || strlen(addr) > AMQP_FIELD_MAX)
		return berth_error_set(err, BERTH_E_INVALID, "invalid reply address");
	if (cid && strlen(cid) > AMQP_FIELD_MAX)
		return berth_error_set(err, BERTH_E_INVALID, "correlation-id too long");

	if (cid) {
		size_t n = strlen(cid);
		pn_uuid_t u;

		id.type = PN_STRING; /* also when it does not parse as the recorded type */
		id.u.as_bytes = pn_bytes(n, cid);
		if (tag == 'u' && uuid_parse(cid, &u) == 0) {
			id.type = PN_UUID;
			id.u.as_uuid = u;
		} else if (tag == 'l' && n && n < 21 && strspn(cid, "0123456789") == n) {
			unsigned long long v;

			errno = 0;
			v = strtoull(cid, NULL, 10);
			if (!errno) {
				id.type = PN_ULONG;
				id.u.as_ulong = v;
			}
		} else if (tag == 'b' && n && n % 2 == 0 && n / 2 <= sizeof(bin) &&
			   hex_decode(cid, bin, n / 2) == 0) {
			id.type = PN_BINARY;
			id.u.as_bytes = pn_bytes(n / 2, (const char *)bin);
		}
	}

	m = pn_message();
	if (!m)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (pn_message_set_address(m, addr) != 0 ||
	    (id.type != PN_NULL && pn_message_set_correlation_id(m, id) != 0) ||
	    set_body(m, r->payload ? r->payload : "", r->payload_len,
		     ct && *ct ? ct : "application/json") != 0) {
		berth_error_set(err, BERTH_E_NOMEM, "cannot build the AMQP reply");
		goto out;
	}
	props = pn_message_properties(m);
	if (pn_data_put_map(props) != 0 || !pn_data_enter(props) ||
	    pn_data_put_string(props, pn_bytes(6, "status")) != 0 ||
	    pn_data_put_int(props, r->status) != 0 || !pn_data_exit(props)) {
		berth_error_set(err, BERTH_E_NOMEM, "cannot build the AMQP reply");
		goto out;
	}
	if (encode(m, out, out_len, err) < 0)
		goto out;
	*address = strdup(addr);
	if (!*address) {
		free(*out);
		*out = NULL;
		berth_error_set(err, BERTH_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	pn_message_free(m);
	return rc;
}

int message_encode_event(const berth_outbound_event *ev, const char *address, char **out,
			 size_t *out_len, berth_error *err)
{
	const char *ct = BERTH_HAS_FIELD(ev, berth_outbound_event, content_type) ? ev->content_type
										 : NULL;
	pn_message_t *m;
	int rc = -1;

	*out = NULL;
	if (!BERTH_HAS_FIELD(ev, berth_outbound_event, payload_len))
		return berth_error_set(err, BERTH_E_INVALID, "event struct too small");
	if (!ev->payload || !ev->payload_len)
		return berth_error_set(err, BERTH_E_INVALID, "event without payload");
	m = pn_message();
	if (!m)
		return berth_error_set(err, BERTH_E_NOMEM, "out of memory");
	if (pn_message_set_address(m, address) != 0 || pn_message_set_durable(m, true) != 0 ||
	    set_body(m, ev->payload, ev->payload_len,
		     ct && *ct ? ct : "application/vnd.eclipse.ditto+json") != 0) {
		berth_error_set(err, BERTH_E_NOMEM, "cannot build the AMQP event");
		goto out;
	}
	rc = encode(m, out, out_len, err);
out:
	pn_message_free(m);
	return rc;
}
