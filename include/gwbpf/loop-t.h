/* gwbpf/loop-t.h - the per-worker event loop: fd watchers, timers, tasks.
 *
 * Watchers, timers and tasks are embedded in their owner (a connection holds
 * its own struct gw_io and struct gw_timer), so registering one never
 * allocates. All-zero is a valid "not registered" state for each of them.
 */
#ifndef GWBPF_LOOP_T_H
#define GWBPF_LOOP_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_loop;
struct gw_io;
struct gw_timer;
struct gw_task;

/* events: GW_IO_READ / GW_IO_WRITE / GW_IO_ERR (hangup or error) */
#define GW_IO_READ  0x1u
#define GW_IO_WRITE 0x2u
#define GW_IO_ERR   0x4u

typedef void (*gw_io_fn)(struct gw_loop *loop, struct gw_io *io, uint32_t events);
typedef void (*gw_timer_fn)(struct gw_loop *loop, struct gw_timer *t);
typedef void (*gw_task_fn)(struct gw_loop *loop, struct gw_task *task);
typedef void (*gw_hook_fn)(struct gw_loop *loop, void *data);

struct gw_io {
	int fd;           /* -1 or 0 when not registered; see registered */
	uint32_t want;    /* GW_IO_READ|GW_IO_WRITE currently asked for */
	bool registered;  /* fd is in the epoll set */
	gw_io_fn cb;
	void *data;       /* for the owner; the loop never reads it */
};

struct gw_timer {
	uint64_t deadline; /* ms, gw_loop_now() clock */
	size_t heap_idx;   /* position in the heap + 1; 0 = not armed */
	gw_timer_fn cb;
	void *data;
};

struct gw_task {
	struct gw_task *next; /* run queue link */
	bool queued;
	gw_task_fn cb;
	void *data;
};

#endif
