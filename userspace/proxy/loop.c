/* proxy/loop.c - the per-worker epoll loop (see gwbpf/loop.h).
 *
 * Timers live in a binary min-heap of pointers; each timer remembers its
 * slot so deleting or re-arming is O(log n) with no search, which matters
 * with one header/idle timer per connection and tens of thousands of idle
 * connections. Tasks are an intrusive FIFO. A watcher removed while an
 * epoll batch is being dispatched is scrubbed from the rest of the batch,
 * so an owner may free its memory right after gw_loop_del_fd().
 */
/* sys/epoll.h names union members u32/u64, which api.h poisons: it has to
 * be seen before api.h (with _GNU_SOURCE set as api.h would). */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "gwbpf/api.h"

#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "gwbpf/log.h"
#include "gwbpf/loop.h"

#define GW_LOOP_BATCH 256

struct gw_loop {
	int epfd;
	int wakefd;
	struct gw_io wake_io;
	uint64_t now;
	struct gw_timer **heap; /* heap[0] is the earliest deadline */
	size_t n_heap;
	size_t cap_heap;
	struct gw_task *tq_head; /* run queue */
	struct gw_task *tq_tail;
	gw_hook_fn before_sleep;
	void *before_sleep_data;
	gw_hook_fn on_wake;
	void *on_wake_data;
	atomic_bool stop;
	struct epoll_event *batch; /* events being dispatched (scrubbed by del_fd) */
	int n_batch;
	int i_batch;               /* the one being dispatched: only later ones are scrubbed */
};

uint64_t gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t gw_loop_now(const struct gw_loop *loop)
{
	return loop->now;
}

uint64_t gw_loop_update_time(struct gw_loop *loop)
{
	loop->now = gw_now_ms();
	return loop->now;
}

static void gw_loop_wake_cb(struct gw_loop *loop, struct gw_io *io, uint32_t events)
{
	uint64_t v;

	/* drain; a failed read only means someone else already drained it */
	if (read(io->fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		pr_debug("loop: eventfd read: %s", strerror(errno));
	if (loop->on_wake)
		loop->on_wake(loop, loop->on_wake_data);
}

struct gw_loop *gw_loop_new(void)
{
	struct gw_loop *loop;
	int err = -ENOMEM;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		goto out;
	loop->epfd = -1;
	loop->wakefd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd == -1) {
		err = -errno;
		goto out;
	}
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wakefd == -1) {
		err = -errno;
		goto out;
	}
	err = gw_loop_add_fd(loop, &loop->wake_io, loop->wakefd, GW_IO_READ, gw_loop_wake_cb, NULL);
	if (err)
		goto out;
	gw_loop_update_time(loop);
	err = 0;
out:
	if (err) {
		gw_loop_free(loop);
		errno = -err;
		return NULL;
	}
	return loop;
}

void gw_loop_free(struct gw_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd != -1)
		close(loop->epfd);
	if (loop->wakefd != -1)
		close(loop->wakefd);
	free(loop->heap);
	free(loop);
}

static uint32_t gw_to_epoll(uint32_t want)
{
	uint32_t ev = 0;

	if (want & GW_IO_READ)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (want & GW_IO_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

/* gw_loop_scrub() : forgets events of the batch being dispatched for io
 * (those already dispatched do not matter) */
static void gw_loop_scrub(struct gw_loop *loop, const struct gw_io *io)
{
	int i;

	for (i = loop->i_batch + 1; i < loop->n_batch; i++)
		if (loop->batch[i].data.ptr == io)
			loop->batch[i].data.ptr = NULL;
}

int gw_loop_add_fd(struct gw_loop *loop, struct gw_io *io, int fd, uint32_t want, gw_io_fn cb,
		   void *data)
{
	struct epoll_event ev = { .events = gw_to_epoll(want), .data.ptr = io };

	if (io->registered && io->fd == fd) {
		/* a new owner for a watched fd (a pooled upstream connection
		 * changing hands): a delete and an add would cost two syscalls
		 * per request. Events already reported were the old owner's:
		 * forget them, as gw_loop_del_fd() would have. */
		gw_loop_scrub(loop, io);
		io->cb = cb;
		io->data = data;
		return gw_loop_mod_fd(loop, io, want);
	}
	io->fd = fd;
	io->want = want & (GW_IO_READ | GW_IO_WRITE);
	io->cb = cb;
	io->data = data;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -errno;
	io->registered = true;
	return 0;
}

int gw_loop_mod_fd(struct gw_loop *loop, struct gw_io *io, uint32_t want)
{
	struct epoll_event ev = { .events = gw_to_epoll(want), .data.ptr = io };

	want &= GW_IO_READ | GW_IO_WRITE;
	if (!io->registered)
		return -ENOENT;
	if (io->want == want)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) == -1)
		return -errno;
	io->want = want;
	return 0;
}

void gw_loop_del_fd(struct gw_loop *loop, struct gw_io *io)
{
	if (!io->registered)
		return;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL) == -1)
		pr_debug("loop: EPOLL_CTL_DEL fd %d: %s", io->fd, strerror(errno));
	io->registered = false;
	io->want = 0;
	/* the owner may free io once we return: forget pending events for it */
	gw_loop_scrub(loop, io);
}

/* ---- timers: binary min-heap ordered by deadline ---- */

static void gw_heap_set(struct gw_loop *loop, size_t i, struct gw_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i + 1;
}

static void gw_heap_up(struct gw_loop *loop, size_t i)
{
	struct gw_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->deadline <= t->deadline)
			break;
		gw_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	gw_heap_set(loop, i, t);
}

static void gw_heap_down(struct gw_loop *loop, size_t i)
{
	struct gw_timer *t = loop->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		uint64_t best = t->deadline;

		if (l < loop->n_heap && loop->heap[l]->deadline < best) {
			m = l;
			best = loop->heap[l]->deadline;
		}
		if (l + 1 < loop->n_heap && loop->heap[l + 1]->deadline < best)
			m = l + 1;
		if (m == i)
			break;
		gw_heap_set(loop, i, loop->heap[m]);
		i = m;
	}
	gw_heap_set(loop, i, t);
}

void gw_loop_del_timer(struct gw_loop *loop, struct gw_timer *t)
{
	size_t i;
	struct gw_timer *last;

	if (!t->heap_idx)
		return;
	i = t->heap_idx - 1;
	t->heap_idx = 0;
	last = loop->heap[--loop->n_heap];
	if (last == t)
		return;
	loop->heap[i] = last;
	last->heap_idx = i + 1;
	if (i > 0 && loop->heap[(i - 1) / 2]->deadline > last->deadline)
		gw_heap_up(loop, i);
	else
		gw_heap_down(loop, i);
}

int gw_loop_add_timer(struct gw_loop *loop, struct gw_timer *t, uint64_t ms, gw_timer_fn cb,
		      void *data)
{
	gw_loop_del_timer(loop, t);
	if (loop->n_heap == loop->cap_heap) {
		size_t cap = loop->cap_heap ? loop->cap_heap * 2 : 64;
		struct gw_timer **h = realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->cap_heap = cap;
	}
	t->deadline = loop->now + ms;
	t->cb = cb;
	t->data = data;
	loop->heap[loop->n_heap] = t;
	t->heap_idx = ++loop->n_heap;
	gw_heap_up(loop, loop->n_heap - 1);
	return 0;
}

static void gw_loop_run_timers(struct gw_loop *loop)
{
	/* bounded: timers armed by callbacks for "now" run next iteration */
	size_t budget = loop->n_heap;

	while (loop->n_heap && budget--) {
		struct gw_timer *t = loop->heap[0];

		if (t->deadline > loop->now)
			break;
		gw_loop_del_timer(loop, t);
		t->cb(loop, t);
	}
}

/* ---- tasks ---- */

void gw_loop_defer(struct gw_loop *loop, struct gw_task *task, gw_task_fn cb, void *data)
{
	task->cb = cb;
	task->data = data;
	if (task->queued)
		return;
	task->queued = true;
	task->next = NULL;
	if (loop->tq_tail)
		loop->tq_tail->next = task;
	else
		loop->tq_head = task;
	loop->tq_tail = task;
}

void gw_loop_cancel(struct gw_loop *loop, struct gw_task *task)
{
	struct gw_task **pp, *prev = NULL;

	if (!task->queued)
		return;
	for (pp = &loop->tq_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != task)
			continue;
		*pp = task->next;
		if (loop->tq_tail == task)
			loop->tq_tail = prev;
		break;
	}
	task->queued = false;
	task->next = NULL;
}

static void gw_loop_run_tasks(struct gw_loop *loop)
{
	/* only what is queued now: a task that requeues itself waits a turn */
	struct gw_task *last = loop->tq_tail;

	while (loop->tq_head) {
		struct gw_task *t = loop->tq_head;

		loop->tq_head = t->next;
		if (!loop->tq_head)
			loop->tq_tail = NULL;
		t->next = NULL;
		t->queued = false;
		t->cb(loop, t);
		if (t == last)
			break;
	}
}

void gw_loop_set_before_sleep(struct gw_loop *loop, gw_hook_fn fn, void *data)
{
	loop->before_sleep = fn;
	loop->before_sleep_data = data;
}

void gw_loop_set_wake_hook(struct gw_loop *loop, gw_hook_fn fn, void *data)
{
	loop->on_wake = fn;
	loop->on_wake_data = data;
}

void gw_loop_wake(struct gw_loop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake */
	if (write(loop->wakefd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		pr_warn("loop: eventfd write: %s", strerror(errno));
}

void gw_loop_stop(struct gw_loop *loop)
{
	atomic_store(&loop->stop, true);
	gw_loop_wake(loop);
}

int gw_loop_run_once(struct gw_loop *loop, int timeout_ms)
{
	struct epoll_event evs[GW_LOOP_BATCH];
	int n, i, timeout;

	gw_loop_update_time(loop);
	gw_loop_run_timers(loop);
	gw_loop_run_tasks(loop);
	if (loop->before_sleep)
		loop->before_sleep(loop, loop->before_sleep_data);

	timeout = timeout_ms;
	if (loop->tq_head) {
		timeout = 0;
	} else if (loop->n_heap) {
		uint64_t d = loop->heap[0]->deadline;
		uint64_t now = gw_now_ms();
		int until = d > now ? (int)GW_MIN(d - now, (uint64_t)INT32_MAX) : 0;

		if (timeout < 0 || until < timeout)
			timeout = until;
	}
	n = epoll_wait(loop->epfd, evs, GW_LOOP_BATCH, timeout);
	if (n == -1) {
		if (errno != EINTR)
			pr_warn("loop: epoll_wait: %s", strerror(errno));
		return 0;
	}
	gw_loop_update_time(loop);
	loop->batch = evs;
	loop->n_batch = n;
	for (i = 0; i < n; i++) {
		struct gw_io *io = evs[i].data.ptr;
		uint32_t e = evs[i].events, out = 0;

		if (!io)
			continue; /* removed by an earlier callback of this batch */
		loop->i_batch = i;
		if (e & (EPOLLIN | EPOLLRDHUP))
			out |= GW_IO_READ;
		if (e & EPOLLOUT)
			out |= GW_IO_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			out |= GW_IO_ERR;
		io->cb(loop, io, out);
	}
	loop->batch = NULL;
	loop->n_batch = 0;
	loop->i_batch = 0;
	return n;
}

void gw_loop_run(struct gw_loop *loop)
{
	while (!atomic_load(&loop->stop))
		gw_loop_run_once(loop, -1);
	atomic_store(&loop->stop, false);
}
