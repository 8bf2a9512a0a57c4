// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The control socket server in-process: a loop driven by
 * vfo_loop_run_once(), clients on real UNIX sockets. Bad input, an
 * unauthorised peer (a forked child that drops to uid/gid 65534), many
 * concurrent clients, and a stuck event subscriber that must be dropped
 * while everybody else is still served.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define TEST_GID 4242
#define MAX_LINE 1024
#define MAX_QUEUE (64 * 1024)

struct fixture {
	char dir[64];
	char path[128];
	struct vfo_loop *loop;
	struct vfo_ctl *ctl;
	int emitted;
	int denied_logs;
	int dropped_logs;
};

/* ---- the command table under test -------------------------------------- */

static int h_echo(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		  struct vfo_proto_err *err)
{
	(void)ctx;
	(void)err;
	*result = json_object_new_object();
	json_object_object_add(*result, "text",
			       json_object_new_string(vfo_proto_arg_str(req->args, "text", "")));
	return 0;
}

static int h_events(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		    struct vfo_proto_err *err)
{
	(void)ctx;
	(void)err;
	*result = json_object_new_object();
	json_object_object_add(*result, "subscribed", json_object_new_boolean(1));
	return vfo_ctl_subscribe(req);
}

static int h_whoami(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		    struct vfo_proto_err *err)
{
	pid_t pid;
	uid_t uid;
	int r;

	(void)ctx;
	(void)err;
	r = vfo_ctl_peer(req, &pid, &uid);
	if (r < 0)
		return r;
	*result = json_object_new_object();
	json_object_object_add(*result, "pid", json_object_new_int(pid));
	json_object_object_add(*result, "uid", json_object_new_int(uid));
	return 0;
}

/* Broadcast count events of about 1 KiB each. */
static int h_emit(void *ctx, const struct vfo_proto_req *req, struct json_object **result,
		  struct vfo_proto_err *err)
{
	struct fixture *f = ctx;
	int64_t n = vfo_proto_arg_int(req->args, "count", 1);
	char pad[1001];

	(void)err;
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int64_t i = 0; i < n; i++) {
		struct json_object *fields = json_object_new_object();

		json_object_object_add(fields, "seq", json_object_new_int64(i));
		json_object_object_add(fields, "pad", json_object_new_string(pad));
		vfo_ctl_broadcast(f->ctl, "test-event", fields);
		json_object_put(fields);
		f->emitted++;
	}
	*result = NULL;
	return 0;
}

static const struct vfo_proto_arg echo_args[] = {
	{ "text", VFO_ARG_STRING, true },
	{ "n", VFO_ARG_INT, false },
	{ NULL },
};

static const struct vfo_proto_arg emit_args[] = {
	{ "count", VFO_ARG_INT, true },
	{ NULL },
};

static const struct vfo_proto_cmd cmds[] = {
	{ .name = "echo", .handler = h_echo, .args = echo_args },
	{ .name = "events", .handler = h_events },
	{ .name = "whoami", .handler = h_whoami },
	{ .name = "emit", .handler = h_emit, .args = emit_args },
};

static struct vfo_proto_table table = {
	.cmds = cmds,
	.n_cmds = VFO_ARRAY_SIZE(cmds),
};

static void sink(int level, const char *comp, const char *msg, void *opaque)
{
	struct fixture *f = opaque;

	(void)level;
	(void)comp;
	if (strstr(msg, "denied peer"))
		f->denied_logs++;
	if (strstr(msg, "dropped"))
		f->dropped_logs++;
}

static int start(struct fixture *f, unsigned int max_clients)
{
	struct vfo_ctl_cfg cfg;

	vfo_ctl_cfg_init(&cfg);
	cfg.path = f->path;
	cfg.group = "4242";
	cfg.max_clients = max_clients;
	cfg.conn.max_line = MAX_LINE;
	cfg.conn.max_queue = MAX_QUEUE;
	table.ctx = f;
	cfg.table = &table;
	return vfo_ctl_new(f->loop, &cfg, &f->ctl);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-host-ctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* The unprivileged children must reach the socket to be refused by
	 * the credential check rather than by the file mode. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->path, sizeof(f->path), "%s/hostd.sock", f->dir);
	assert_int_equal(vfo_loop_new(&f->loop), 0);
	vfo_log_set_sink(sink, f);
	assert_int_equal(start(f, 200), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vfo_ctl_free(f->ctl);
	/* The socket file goes with the server. */
	assert_int_equal(access(f->path, F_OK), -1);
	vfo_loop_free(f->loop);
	vfo_log_set_sink(NULL, NULL);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- client helpers ---------------------------------------------------- */

static int client(struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			continue;
		assert_true(n > 0);
		s += n;
		len -= n;
	}
}

struct rbuf {
	char buf[1 << 16];
	size_t len;
	bool eof;
};

/* Pump the loop until fd has a full line (or EOF); returns the line,
 * parsed, or NULL on EOF. */
static struct json_object *recv_json(struct fixture *f, int fd, struct rbuf *rb)
{
	int64_t deadline = vfo_now_ms() + 5000;

	while (vfo_now_ms() < deadline) {
		char *nl = memchr(rb->buf, '\n', rb->len);
		ssize_t n;

		if (nl) {
			struct json_object *o;

			*nl = '\0';
			o = json_tokener_parse(rb->buf);
			rb->len -= nl + 1 - rb->buf;
			memmove(rb->buf, nl + 1, rb->len);
			assert_non_null(o);
			return o;
		}
		if (rb->eof)
			return NULL;
		vfo_loop_run_once(f->loop, 2);
		n = recv(fd, rb->buf + rb->len, sizeof(rb->buf) - rb->len, 0);
		if (n == 0)
			rb->eof = true;
		else if (n > 0)
			rb->len += n;
		else
			assert_true(errno == EAGAIN);
	}
	fail_msg("no reply within 5 s");
	return NULL;
}

static struct json_object *rpc(struct fixture *f, int fd, const char *line)
{
	struct rbuf *rb = calloc(1, sizeof(*rb));
	struct json_object *o;

	send_str(fd, line);
	o = recv_json(f, fd, rb);
	free(rb);
	return o;
}

static const char *err_code(struct json_object *o)
{
	struct json_object *e, *c;

	if (!json_object_object_get_ex(o, "error", &e) || !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

static void expect_error(struct fixture *f, int fd, const char *line, const char *code)
{
	struct json_object *o = rpc(f, fd, line);

	assert_non_null(o);
	assert_string_equal(err_code(o), code);
	json_object_put(o);
}

static void expect_echo(struct fixture *f, int fd, const char *text)
{
	char line[256];
	struct json_object *o, *res, *t;

	snprintf(line, sizeof(line), "{\"id\":7,\"cmd\":\"echo\",\"args\":{\"text\":\"%s\"}}\n",
		 text);
	o = rpc(f, fd, line);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "result", &res));
	assert_true(json_object_object_get_ex(res, "text", &t));
	assert_string_equal(json_object_get_string(t), text);
	json_object_put(o);
}

static void pump_until_clients(struct fixture *f, unsigned int n)
{
	struct vfo_ctl_stats st;
	int64_t deadline = vfo_now_ms() + 5000;

	do {
		vfo_loop_run_once(f->loop, 2);
		vfo_ctl_get_stats(f->ctl, &st);
	} while (st.clients != n && vfo_now_ms() < deadline);
	assert_int_equal(st.clients, n);
}

/* ---- tests ------------------------------------------------------------- */

static void test_basic(void **state)
{
	struct fixture *f = *state;
	struct json_object *o, *res, *v;
	struct stat st;
	int fd;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, TEST_GID);

	fd = client(f);
	expect_echo(f, fd, "hello");
	o = rpc(f, fd, "{\"id\":\"w\",\"cmd\":\"whoami\"}\n");
	assert_true(json_object_object_get_ex(o, "result", &res));
	assert_true(json_object_object_get_ex(res, "pid", &v));
	assert_int_equal(json_object_get_int(v), getpid());
	assert_true(json_object_object_get_ex(o, "id", &v));
	assert_string_equal(json_object_get_string(v), "w");
	json_object_put(o);
	close(fd);
	pump_until_clients(f, 0);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	char *big;
	int fd = client(f);

	expect_error(f, fd, "{not json\n", "bad-json");
	expect_error(f, fd, "[1,2,3]\n", "bad-request");
	expect_error(f, fd, "{\"id\":1}\n", "bad-request");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"frobnicate\"}\n", "unknown-command");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"text\":5}}\n", "bad-args");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"echo\",\"args\":{}}\n", "bad-args");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"text\":\"a\",\"n\":\"x\"}}\n",
		     "bad-args");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"text\":\"a\",\"evil\":1}}\n",
		     "bad-args");
	expect_error(f, fd, "{\"id\":1,\"cmd\":\"echo\",\"args\":[1]}\n", "bad-args");

	/* Oversized: refused, the rest of the line skipped, conn usable. */
	big = malloc(5 * MAX_LINE + 2);
	memset(big, 'a', 5 * MAX_LINE);
	big[0] = '"';
	strcpy(big + 5 * MAX_LINE, "\n");
	expect_error(f, fd, big, "too-long");
	free(big);

	/* Still served after all of that. */
	expect_echo(f, fd, "still-here");
	close(fd);
	pump_until_clients(f, 0);
}

/* A partial line, then the peer vanishes: nothing leaks, nothing breaks. */
static void test_partial_then_close(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);

	send_str(fd, "{\"id\":1,\"cmd\":\"ec");
	pump_until_clients(f, 1);
	close(fd);
	pump_until_clients(f, 0);
	fd = client(f);
	expect_echo(f, fd, "next");
	close(fd);
	pump_until_clients(f, 0);
}

enum child_mode { CHILD_NOBODY, CHILD_PRIMARY_GID, CHILD_SUPPLEMENTARY };

/* Drop to uid 65534 with the given groups, connect, ask, report. */
static int child_run(const char *path, enum child_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t supp = TEST_GID;
	struct timeval tv = { .tv_sec = 5 };
	const char *req = "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"text\":\"hi\"}}\n";
	char buf[1024] = "";
	ssize_t n;
	int fd;

	if (mode == CHILD_SUPPLEMENTARY ? setgroups(1, &supp) : setgroups(0, NULL))
		return 10;
	if (setgid(mode == CHILD_PRIMARY_GID ? TEST_GID : 65534))
		return 11;
	if (setuid(65534))
		return 12;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EACCES ? 20 : 13;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* The server may already have closed: read what it said anyway. */
	n = send(fd, req, strlen(req), MSG_NOSIGNAL);
	(void)n;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 14;
	buf[n] = '\0';
	if (strstr(buf, "\"denied\"")) {
		/* Closed: EOF, or a reset since our request went unread. */
		n = read(fd, buf, sizeof(buf));
		return n == 0 || (n < 0 && errno == ECONNRESET) ? 30 : 15;
	}
	if (strstr(buf, "\"result\"") && strstr(buf, "\"hi\""))
		return 40;
	return 16;
}

static int run_child(struct fixture *f, enum child_mode mode)
{
	int64_t deadline = vfo_now_ms() + 10000;
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_run(f->path, mode));
	while (waitpid(pid, &status, WNOHANG) == 0) {
		assert_true(vfo_now_ms() < deadline);
		vfo_loop_run_once(f->loop, 5);
	}
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_unauthorised(void **state)
{
	struct fixture *f = *state;
	struct vfo_ctl_stats st;

	/* With the socket's own mode (0660 root:4242) nobody cannot even
	 * connect. */
	assert_int_equal(run_child(f, CHILD_NOBODY), 20);

	/* Open the mode up: the credential check alone must refuse it, with
	 * one "denied" line, a log line, and a closed connection. */
	assert_int_equal(chmod(f->path, 0666), 0);
	assert_int_equal(run_child(f, CHILD_NOBODY), 30);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.denied, 1);
	assert_int_equal(f->denied_logs, 1);

	/* Members of the group are let in, by primary or supplementary gid. */
	assert_int_equal(run_child(f, CHILD_PRIMARY_GID), 40);
	assert_int_equal(run_child(f, CHILD_SUPPLEMENTARY), 40);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.denied, 1);
	pump_until_clients(f, 0);
}

#define N_CLIENTS 100
#define N_REQS 5

/* 100 clients, each with 5 requests pipelined at once, answered in order. */
static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	static struct rbuf rb[N_CLIENTS];
	int fds[N_CLIENTS], got[N_CLIENTS] = { 0 }, done = 0;
	int64_t deadline;

	memset(rb, 0, sizeof(rb));
	for (int i = 0; i < N_CLIENTS; i++)
		fds[i] = client(f);
	for (int i = 0; i < N_CLIENTS; i++) {
		char line[N_REQS * 96] = "";

		for (int k = 0; k < N_REQS; k++) {
			char one[96];

			snprintf(one, sizeof(one),
				 "{\"id\":%d,\"cmd\":\"echo\",\"args\":{\"text\":\"c%d-%d\"}}\n", k,
				 i, k);
			strcat(line, one);
		}
		send_str(fds[i], line);
	}
	deadline = vfo_now_ms() + 10000;
	while (done < N_CLIENTS * N_REQS) {
		assert_true(vfo_now_ms() < deadline);
		vfo_loop_run_once(f->loop, 2);
		for (int i = 0; i < N_CLIENTS; i++) {
			ssize_t n = recv(fds[i], rb[i].buf + rb[i].len,
					 sizeof(rb[i].buf) - rb[i].len, 0);
			char *nl;

			if (n > 0)
				rb[i].len += n;
			while ((nl = memchr(rb[i].buf, '\n', rb[i].len))) {
				struct json_object *o, *id, *res, *t;
				char want[32];

				*nl = '\0';
				o = json_tokener_parse(rb[i].buf);
				assert_non_null(o);
				assert_true(json_object_object_get_ex(o, "id", &id));
				assert_int_equal(json_object_get_int(id), got[i]);
				assert_true(json_object_object_get_ex(o, "result", &res));
				assert_true(json_object_object_get_ex(res, "text", &t));
				snprintf(want, sizeof(want), "c%d-%d", i, got[i]);
				assert_string_equal(json_object_get_string(t), want);
				json_object_put(o);
				got[i]++;
				done++;
				rb[i].len -= nl + 1 - rb[i].buf;
				memmove(rb[i].buf, nl + 1, rb[i].len);
			}
		}
	}
	for (int i = 0; i < N_CLIENTS; i++) {
		assert_int_equal(got[i], N_REQS);
		close(fds[i]);
	}
	pump_until_clients(f, 0);
}

/*
 * A subscriber that never reads while thousands of events are generated
 * is dropped at the queue's high-water mark; the daemon keeps serving,
 * and a well-behaved subscriber gets every event in order.
 */
static void test_stuck_subscriber(void **state)
{
	struct fixture *f = *state;
	struct rbuf *rb = calloc(1, sizeof(*rb));
	int stuck = client(f), good = client(f), worker = client(f);
	struct vfo_ctl_stats st;
	struct json_object *o;
	int rcvbuf = 4096;
	long seq = 0;
	int64_t deadline;

	setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	o = rpc(f, stuck, "{\"id\":1,\"cmd\":\"events\"}\n");
	assert_non_null(o);
	json_object_put(o);
	o = rpc(f, good, "{\"id\":1,\"cmd\":\"events\"}\n");
	json_object_put(o);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.subscribers, 2);

	/* The worker generates events in bursts; "good" reads as it goes. */
	deadline = vfo_now_ms() + 10000;
	for (int round = 0; round < 20; round++) {
		o = rpc(f, worker, "{\"id\":2,\"cmd\":\"emit\",\"args\":{\"count\":100}}\n");
		assert_non_null(o);
		assert_string_equal(err_code(o), "");
		json_object_put(o);
		while (seq < (round + 1) * 100) {
			struct json_object *ev, *s;

			assert_true(vfo_now_ms() < deadline);
			ev = recv_json(f, good, rb);
			assert_non_null(ev);
			assert_true(json_object_object_get_ex(ev, "seq", &s));
			assert_int_equal(json_object_get_int64(s), seq % 100);
			seq++;
			json_object_put(ev);
		}
	}
	/* 2000 events of 1 KiB: far past 64 KiB queue + socket buffers. */
	for (int i = 0; i < 10; i++)
		vfo_loop_run_once(f->loop, 2);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.subscribers, 1);
	assert_int_equal(st.clients, 2);
	assert_true(f->dropped_logs >= 1);

	/* The stuck one finds its stream ended after what was buffered. */
	{
		char buf[65536];
		ssize_t n;
		int64_t dl = vfo_now_ms() + 5000;

		do {
			n = recv(stuck, buf, sizeof(buf), 0);
			assert_true(vfo_now_ms() < dl);
		} while (n > 0 || (n < 0 && errno == EAGAIN));
		assert_int_equal(n, 0);
	}
	/* And the worker is still served. */
	expect_echo(f, worker, "alive");
	free(rb);
	close(stuck);
	close(good);
	close(worker);
	pump_until_clients(f, 0);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.subscribers, 0);
}

/* A subscriber that goes away is forgotten; broadcasting to nobody is
 * harmless. */
static void test_subscriber_leaves(void **state)
{
	struct fixture *f = *state;
	struct vfo_ctl_stats st;
	struct json_object *o;
	int fd = client(f);

	o = rpc(f, fd, "{\"id\":1,\"cmd\":\"events\"}\n");
	json_object_put(o);
	close(fd);
	pump_until_clients(f, 0);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.subscribers, 0);
	vfo_ctl_broadcast(f->ctl, "nobody-listens", NULL);
	vfo_ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.events, 0);
}

static void test_max_clients(void **state)
{
	struct fixture *f = *state;
	struct json_object *o;
	struct rbuf *rb = calloc(1, sizeof(*rb));
	int a, b, c;

	vfo_ctl_free(f->ctl);
	assert_int_equal(start(f, 2), 0);
	a = client(f);
	b = client(f);
	pump_until_clients(f, 2);
	c = client(f);
	o = recv_json(f, c, rb);
	assert_non_null(o);
	assert_string_equal(err_code(o), "busy");
	json_object_put(o);
	assert_null(recv_json(f, c, rb));
	expect_echo(f, a, "a");
	expect_echo(f, b, "b");
	close(a);
	close(b);
	close(c);
	free(rb);
	pump_until_clients(f, 0);
}

static void test_socket_file(void **state)
{
	struct fixture *f = *state;
	struct vfo_ctl_cfg cfg;
	struct vfo_ctl *second;
	char other[160];
	int fd;

	vfo_ctl_cfg_init(&cfg);
	cfg.table = &table;
	cfg.path = f->path;
	/* A live server's socket is not stolen. */
	assert_int_equal(vfo_ctl_new(f->loop, &cfg, &second), -EADDRINUSE);
	assert_null(second);
	assert_int_equal(access(f->path, F_OK), 0);

	/* A stale one (nobody listening) is replaced. */
	vfo_ctl_free(f->ctl);
	f->ctl = NULL;
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sa.sun_path, f->path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(start(f, 10), 0);
	fd = client(f);
	expect_echo(f, fd, "fresh");
	close(fd);
	pump_until_clients(f, 0);

	/* A regular file is not ours to delete. */
	snprintf(other, sizeof(other), "%s/plain", f->dir);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	close(fd);
	cfg.path = other;
	assert_int_equal(vfo_ctl_new(f->loop, &cfg, &second), -EEXIST);
	assert_int_equal(access(other, F_OK), 0);
	unlink(other);

	/* Bad arguments. */
	cfg.path = "";
	assert_int_equal(vfo_ctl_new(f->loop, &cfg, &second), -EINVAL);
	cfg.path =
		"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(vfo_ctl_new(f->loop, &cfg, &second), -ENAMETOOLONG);
	cfg.path = f->path;
	cfg.table = NULL;
	assert_int_equal(vfo_ctl_new(f->loop, &cfg, &second), -EINVAL);
}

static void test_credentials(void **state)
{
	gid_t g;

	(void)state;
	assert_int_equal(vfo_ctl_peer_allowed(1, 0, 0, false, 0), 1);
	assert_int_equal(vfo_ctl_peer_allowed(1, 1000, 1000, false, 0), 0);
	assert_int_equal(vfo_ctl_peer_allowed(1, 1000, 4242, true, 4242), 1);
	/* Our own /proc entry: root's groups, without 4242. */
	assert_int_equal(vfo_ctl_peer_allowed(getpid(), 1000, 1000, true, 4242), 0);
	/* No such process and no such user: denied, not a crash. */
	assert_int_equal(vfo_ctl_peer_allowed(0, 4000000, 4000000, true, 4242), 0);

	assert_int_equal(vfo_ctl_resolve_group("4242", &g), 0);
	assert_int_equal(g, 4242);
	assert_int_equal(vfo_ctl_resolve_group("root", &g), 0);
	assert_int_equal(g, 0);
	assert_int_equal(vfo_ctl_resolve_group("no-such-group-vfo", &g), -ENOENT);
	assert_int_equal(vfo_ctl_resolve_group("12ab", &g), -EINVAL);
	assert_int_equal(vfo_ctl_resolve_group("", &g), -EINVAL);
	assert_int_equal(vfo_ctl_resolve_group(NULL, &g), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthorised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stuck_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriber_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test(test_credentials),
	};

	if (geteuid() != 0) {
		/* chown to the test group and the setuid children need root. */
		fprintf(stderr, "test-host-ctl: needs root, skipping\n");
		return 77;
	}
	vfo_log_set_level(VFO_LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
