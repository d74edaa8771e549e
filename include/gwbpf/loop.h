/* gwbpf/loop.h - one epoll loop per worker thread (redis ae / haproxy style).
 *
 * One iteration: expired timers, then queued tasks, then the before-sleep
 * hook, then epoll_wait() until the next timer deadline. Level-triggered:
 * a watcher is called while its fd is ready for what it asks, so owners
 * express backpressure by dropping GW_IO_READ from `want`.
 *
 * Only gw_loop_wake() and gw_loop_stop() may be called from another thread;
 * everything else belongs to the thread running gw_loop_run().
 */
#ifndef GWBPF_LOOP_H
#define GWBPF_LOOP_H

#include "gwbpf/api.h"
#include "gwbpf/loop-t.h"

/* gw_loop_new() : new loop with its epoll fd and wake eventfd; NULL + errno */
struct gw_loop *gw_loop_new(void);
/* gw_loop_free() : accepts NULL; does not close watched fds (their owners do) */
void gw_loop_free(struct gw_loop *loop);

/* gw_loop_now() : cached monotonic ms, refreshed once per iteration */
uint64_t gw_loop_now(const struct gw_loop *loop);
/* gw_loop_update_time() : refreshes the cached clock now */
uint64_t gw_loop_update_time(struct gw_loop *loop);
/* gw_now_ms() : CLOCK_MONOTONIC in ms (uncached) */
uint64_t gw_now_ms(void);

/* gw_loop_add_fd() : watches fd for want (GW_IO_READ|GW_IO_WRITE) calling cb.
 * io is borrowed until gw_loop_del_fd(). 0 or -errno from epoll_ctl. When io
 * already watches this same fd, it only changes hands: cb and data are
 * replaced, events of the current batch are dropped, want is applied as by
 * gw_loop_mod_fd() (no syscall when unchanged). */
int gw_loop_add_fd(struct gw_loop *loop, struct gw_io *io, int fd, uint32_t want, gw_io_fn cb,
		   void *data);
/* gw_loop_mod_fd() : changes the interest set; no syscall when unchanged */
int gw_loop_mod_fd(struct gw_loop *loop, struct gw_io *io, uint32_t want);
/* gw_loop_del_fd() : stops watching (before closing the fd); idempotent */
void gw_loop_del_fd(struct gw_loop *loop, struct gw_io *io);

/* gw_loop_add_timer() : (re)arms t to fire once after ms; t is borrowed
 * until it fires or is deleted. 0 or -ENOMEM. */
int gw_loop_add_timer(struct gw_loop *loop, struct gw_timer *t, uint64_t ms, gw_timer_fn cb,
		      void *data);
/* gw_loop_del_timer() : disarms; idempotent, accepts unarmed timers */
void gw_loop_del_timer(struct gw_loop *loop, struct gw_timer *t);
static inline bool gw_timer_armed(const struct gw_timer *t)
{
	return t->heap_idx != 0;
}

/* gw_loop_defer() : runs cb once in the next task phase (before sleeping);
 * queuing an already queued task is a no-op */
void gw_loop_defer(struct gw_loop *loop, struct gw_task *task, gw_task_fn cb, void *data);
/* gw_loop_cancel() : removes task from the run queue if queued */
void gw_loop_cancel(struct gw_loop *loop, struct gw_task *task);

/* gw_loop_set_before_sleep() : hook called right before every epoll_wait */
void gw_loop_set_before_sleep(struct gw_loop *loop, gw_hook_fn fn, void *data);
/* gw_loop_set_wake_hook() : hook called in the loop thread after a wake */
void gw_loop_set_wake_hook(struct gw_loop *loop, gw_hook_fn fn, void *data);

/* gw_loop_wake() : thread-safe; makes the loop run its wake hook soon */
void gw_loop_wake(struct gw_loop *loop);
/* gw_loop_stop() : thread-safe; gw_loop_run() returns after this iteration */
void gw_loop_stop(struct gw_loop *loop);

/* gw_loop_run_once() : one iteration, sleeping at most timeout_ms (-1 = until
 * the next timer or event). Returns the number of fd events handled. */
int gw_loop_run_once(struct gw_loop *loop, int timeout_ms);
/* gw_loop_run() : iterates until gw_loop_stop() */
void gw_loop_run(struct gw_loop *loop);

#endif
