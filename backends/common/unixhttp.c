/* SPDX-License-Identifier: Apache-2.0 */
/* unixhttp: HTTP/1.1 over a unix socket with libcurl, with a handle pool (unixhttp.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "unixhttp.h"

struct unixhttp {
	char *socket_path;
	unsigned pool_max;
	pthread_mutex_t lock;
	CURL **idle;      /* pool_max slots */
	unsigned n_idle;
};

/* State of one transfer, shared with curl's callbacks. */
struct xfer {
	const struct unixhttp_request *req;
	struct unixhttp_response *resp;
	CURL *h;
	size_t cap;
	size_t max;
	bool headers_done;
	bool aborted;
	bool too_big;
	bool nomem;
};

struct unixhttp *unixhttp_new(const char *socket_path, unsigned pool_max)
{
	struct unixhttp *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->socket_path = strdup(socket_path);
	c->pool_max = pool_max;
	c->idle = pool_max ? calloc(pool_max, sizeof(*c->idle)) : NULL;
	if (!c->socket_path || (pool_max && !c->idle)) {
		free(c->socket_path);
		free(c->idle);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void unixhttp_free(struct unixhttp *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->idle);
	free(c->socket_path);
	free(c);
}

const char *unixhttp_socket(const struct unixhttp *c)
{
	return c->socket_path;
}

/* returns: a handle owned by the caller until handle_put(); NULL when out of memory. */
static CURL *handle_get(struct unixhttp *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_idle)
		h = c->idle[--c->n_idle];
	pthread_mutex_unlock(&c->lock);
	if (h) {
		curl_easy_reset(h); /* keeps its live connection */
		return h;
	}
	return curl_easy_init();
}

static void handle_put(struct unixhttp *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_idle < c->pool_max) {
		c->idle[c->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static bool body_append(struct xfer *x, const char *data, size_t len)
{
	struct unixhttp_response *r = x->resp;

	if (r->body_len + len + 1 > x->max) {
		x->too_big = true;
		return false;
	}
	if (r->body_len + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 1024;
		char *p;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		if (cap > x->max)
			cap = x->max;
		p = realloc(r->body, cap);
		if (!p) {
			x->nomem = true;
			return false;
		}
		r->body = p;
		x->cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return true;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;

	if (x->req->on_data) {
		if (!x->req->on_data(x->req->userdata, data, len)) {
			x->aborted = true;
			return 0;
		}
		return len;
	}
	return body_append(x, data, len) ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;
	long status = 0;

	/* The empty line ending a header block; skip interim (1xx) blocks. */
	if ((len == 2 && data[0] == '\r' && data[1] == '\n') || (len == 1 && data[0] == '\n')) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && !x->headers_done) {
			x->headers_done = true;
			x->resp->status = status;
			if (x->req->on_headers)
				x->req->on_headers(x->req->userdata, status);
		}
	}
	return len;
}

/* Sets every option of one request on h; *headers_out must be freed by the caller. */
static int setup(struct unixhttp *c, CURL *h, const struct unixhttp_request *req,
		 struct xfer *x, char *errbuf, struct curl_slist **headers_out)
{
	static const char origin[] = "http://localhost";
	struct curl_slist *headers = NULL, *tmp;
	char ctype[128];
	char *url;
	size_t len;
	int n;

	*headers_out = NULL;
	len = strlen(req->target);
	url = malloc(sizeof(origin) + len);
	if (!url)
		return -1;
	memcpy(url, origin, sizeof(origin) - 1);
	memcpy(url + sizeof(origin) - 1, req->target, len + 1);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_URL, url); /* curl keeps its own copy */
	free(url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (req->timeout_ms > 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	} else {
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	}
	if (req->low_speed_time_s > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->low_speed_time_s);
	}

	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		}
	}

	/* No "Expect: 100-continue" round trip for larger bodies. */
	tmp = curl_slist_append(headers, "Expect:");
	if (!tmp)
		return -1;
	headers = tmp;
	if (req->body) {
		n = snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			     req->content_type ? req->content_type : "application/json");
		if (n < 0 || (size_t)n >= sizeof(ctype)) {
			curl_slist_free_all(headers);
			return -1;
		}
		tmp = curl_slist_append(headers, ctype);
		if (!tmp) {
			curl_slist_free_all(headers);
			return -1;
		}
		headers = tmp;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	*headers_out = headers;
	return 0;
}

static int set_error(struct unixhttp_error *err, int failure, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct unixhttp_error *err, int failure, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->failure = failure;
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Turns curl's result into 0 or -1 + err. */
static int finish(CURL *h, CURLcode rc, struct xfer *x, const char *errbuf,
		  struct unixhttp_error *err)
{
	const char *text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	long os_errno = 0;

	if (rc == CURLE_OK) {
		if (!x->headers_done)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->resp->status);
		if (!x->resp->body && !body_append(x, "", 0))
			return set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
		if (err) {
			err->failure = UNIXHTTP_OK;
			err->text[0] = '\0';
		}
		return 0;
	}
	if (x->too_big)
		return set_error(err, UNIXHTTP_E_TOO_BIG, "response larger than %zu bytes", x->max);
	if (x->nomem || rc == CURLE_OUT_OF_MEMORY)
		return set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
	if (x->aborted || rc == CURLE_ABORTED_BY_CALLBACK)
		return set_error(err, UNIXHTTP_E_ABORTED, "transfer aborted");
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno)
			return set_error(err, UNIXHTTP_E_CONNECT, "%s", strerror((int)os_errno));
		return set_error(err, UNIXHTTP_E_CONNECT, "%s", text);
	case CURLE_OPERATION_TIMEDOUT:
		return set_error(err, UNIXHTTP_E_TIMEOUT, "%s", text);
	default:
		return set_error(err, UNIXHTTP_E_TRANSFER, "%s", text);
	}
}

int unixhttp_request(struct unixhttp *c, const struct unixhttp_request *req,
		     struct unixhttp_response *resp, struct unixhttp_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct xfer x = { .req = req, .resp = resp };
	CURL *h;
	CURLcode rc;
	int ret;

	memset(resp, 0, sizeof(*resp));
	x.max = req->max_response ? req->max_response : UNIXHTTP_DEFAULT_MAX_RESPONSE;
	h = handle_get(c);
	if (!h)
		return set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
	x.h = h;
	if (setup(c, h, req, &x, errbuf, &headers) < 0) {
		curl_easy_cleanup(h);
		return set_error(err, UNIXHTTP_E_NOMEM, "cannot set up the request %s %s",
				 req->method, req->target);
	}
	rc = curl_easy_perform(h);
	ret = finish(h, rc, &x, errbuf, err);
	/* the handle keeps pointers to our stack: drop them before it goes back */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	handle_put(c, h);
	return ret;
}

int unixhttp_stream(struct unixhttp *c, const struct unixhttp_request *req, int wake_fd,
		    struct unixhttp_response *resp, struct unixhttp_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct xfer x = { .req = req, .resp = resp };
	CURLcode rc = CURLE_OK;
	CURLM *m;
	CURL *h;
	int ret;

	memset(resp, 0, sizeof(*resp));
	x.max = req->max_response ? req->max_response : UNIXHTTP_DEFAULT_MAX_RESPONSE;
	h = curl_easy_init();
	m = curl_multi_init();
	if (!h || !m) {
		curl_easy_cleanup(h);
		curl_multi_cleanup(m);
		return set_error(err, UNIXHTTP_E_NOMEM, "out of memory");
	}
	x.h = h;
	if (setup(c, h, req, &x, errbuf, &headers) < 0 ||
	    curl_multi_add_handle(m, h) != CURLM_OK) {
		curl_slist_free_all(headers);
		curl_easy_cleanup(h);
		curl_multi_cleanup(m);
		return set_error(err, UNIXHTTP_E_NOMEM, "cannot set up the request %s %s",
				 req->method, req->target);
	}
	for (;;) {
		struct curl_waitfd wfd = { .fd = wake_fd, .events = CURL_WAIT_POLLIN };
		int running = 0;
		CURLMcode mc;

		mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			snprintf(errbuf, sizeof(errbuf), "%s", curl_multi_strerror(mc));
			break;
		}
		if (!running) {
			CURLMsg *msg;
			int left;

			while ((msg = curl_multi_info_read(m, &left)))
				if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
					rc = msg->data.result;
			break;
		}
		mc = curl_multi_wait(m, &wfd, wake_fd >= 0 ? 1 : 0, 1000, NULL);
		if (mc != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			snprintf(errbuf, sizeof(errbuf), "%s", curl_multi_strerror(mc));
			break;
		}
		if (wake_fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN)) {
			x.aborted = true;
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
	}
	ret = finish(h, rc, &x, errbuf, err);
	curl_multi_remove_handle(m, h);
	curl_easy_cleanup(h);
	curl_multi_cleanup(m);
	curl_slist_free_all(headers);
	return ret;
}

void unixhttp_response_release(struct unixhttp_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

char *unixhttp_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	char *out, *p;

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	p = out;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		    (*q >= '0' && *q <= '9') || *q == '-' || *q == '.' || *q == '_' || *q == '~') {
			*p++ = (char)*q;
		} else {
			*p++ = '%';
			*p++ = hex[*q >> 4];
			*p++ = hex[*q & 15];
		}
	}
	*p = '\0';
	return out;
}
