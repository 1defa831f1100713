/*
 * virtq.h: the split virtqueue (virtio 1.2 §2.7), driver side and a device
 * side.
 *
 * The driver side is what a virtio driver needs: a free list, adding a
 * scatter-gather list as a direct chain or through an indirect table
 * (§2.7.5.3), publishing to the available ring, deciding whether to notify
 * the device (with or without VIRTIO_F_EVENT_IDX, §2.7.10), interrupt
 * suppression (§2.7.7), and reclaiming used buffers while treating
 * everything the device writes as untrusted.  The device side consumes
 * chains and completes them; tests and emulators use it, and it validates
 * chains as strictly as the driver validates the used ring.
 *
 * Memory: the rings (and the optional pool of indirect tables) belong to
 * the caller, who gives both their host pointer and, for indirect tables,
 * the address the device sees.  virtq_create()/virtq_device_create()
 * allocate the private bookkeeping once; nothing allocates afterwards.
 * Ring fields are little-endian (§2.7, "le16"); index updates use
 * release/acquire ordering, and the notification checks and event index
 * updates a full fence (§2.7.13.3.1, §2.7.13.4.1), so the two sides may
 * run on different threads.  One handle must not be used by two threads
 * at once.
 *
 * Not covered: the packed ring (§2.8), VIRTIO_F_IN_ORDER, legacy ring
 * alignment (queue_align), and notifications themselves (the caller writes
 * the notify register or raises the interrupt).
 */
#ifndef AEROFS_VIRTIO_VIRTQ_H
#define AEROFS_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_spec.h"

struct virtq_config {
	unsigned size;		   /* power of 2, 1..VIRTQ_MAX_SIZE */
	bool event_idx;		   /* VIRTIO_F_EVENT_IDX negotiated */
	struct virtq_desc *desc;   /* VIRTQ_DESC_BYTES(size), 16-aligned */
	struct virtq_avail *avail; /* VIRTQ_AVAIL_BYTES(size), 2-aligned */
	struct virtq_used *used;   /* VIRTQ_USED_BYTES(size), 4-aligned */
	/*
	 * Optional pool for VIRTIO_F_INDIRECT_DESC: indirect_tables tables
	 * of indirect_len descriptors each, contiguous, 16-aligned, at
	 * device address indirect_addr.  NULL/0 = no indirect descriptors.
	 */
	struct virtq_desc *indirect;
	uint64_t indirect_addr;
	unsigned indirect_tables;
	unsigned indirect_len; /* 2..VIRTQ_MAX_SIZE; > size unused */
	/* Chains longer than this go indirect (when a table is free). */
	unsigned indirect_threshold;
};

/* One element of a scatter-gather list. */
struct virtq_buf {
	uint64_t addr; /* device address */
	uint32_t len;
	bool write; /* device-writable */
};

/* ---- driver side ---- */

struct virtq;

/*
 * Checks CONFIG (size, alignments, pool shape; -EINVAL), zeroes the three
 * rings and the pool, and returns a new queue in *OUT (-ENOMEM).  The
 * queue borrows the memory in CONFIG until virtq_destroy().
 */
int virtq_create(const struct virtq_config *config, struct virtq **out);

/* Frees the bookkeeping (not the rings).  Accepts NULL. */
void virtq_destroy(struct virtq *vq);

unsigned virtq_size(const struct virtq *vq);

/* Free descriptors in the ring (an indirect chain takes one). */
unsigned virtq_num_free(const struct virtq *vq);

/*
 * True once the device has corrupted the used ring.  A broken queue
 * refuses every further add and get (-EIO); reset the device and create
 * a new queue.
 */
bool virtq_is_broken(const struct virtq *vq);

/*
 * Adds the N buffers of BUFS as one chain carrying COOKIE (not NULL; it
 * comes back from virtq_get_used()).  Device-readable buffers must come
 * before device-writable ones (§2.7.4.2) and the total must not exceed
 * 4 GiB (§2.7.5).  The chain goes indirect when a table is free, N >= 2,
 * N <= indirect_len, and N exceeds the threshold or the free descriptors;
 * otherwise direct.  Not visible to the device until virtq_publish().
 * Returns the head descriptor index, -EINVAL (bad arguments, or N above
 * the queue size, which §2.7.5.3.1 forbids even for an indirect chain),
 * -ENOSPC (no room now: wait for used chains) or -EIO (broken).
 */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n,
	      void *cookie);

/* Makes every added chain visible: stores avail->idx with release. */
void virtq_publish(struct virtq *vq);

/*
 * After virtq_publish(): true if the device must be notified about the
 * chains published since the last call (§2.7.10: avail_event with
 * EVENT_IDX, else the used ring's NO_NOTIFY flag).  Call it at least once
 * every 65535 added chains, or the event index comparison wraps.
 */
bool virtq_kick_prepare(struct virtq *vq);

/*
 * Takes the next used chain: 1 with *COOKIE and *LEN (bytes the device
 * wrote) set and its descriptors freed, 0 if there is none, -EIO if the
 * device wrote garbage: used->idx more than a ring ahead, an id out of
 * range or not outstanding, or len larger than the chain's writable
 * bytes.  On -EIO nothing is reclaimed and the queue is broken.  COOKIE
 * and LEN may be NULL; they are cleared on entry.
 */
int virtq_get_used(struct virtq *vq, void **cookie, uint32_t *len);

/* True if the device has used chains not yet taken (acquire load). */
bool virtq_has_used(const struct virtq *vq);

/*
 * Interrupt suppression (§2.7.7, §2.7.10).  Disable is a hint the device
 * may ignore.  Enable returns true if used chains arrived meanwhile: the
 * caller must then poll again, or it can miss them (§2.7.13.4).
 */
void virtq_disable_interrupts(struct virtq *vq);
bool virtq_enable_interrupts(struct virtq *vq);

/*
 * After a device reset: hands back one outstanding chain's cookie and
 * frees its descriptors.  Returns 1, or 0 when none is left.
 */
int virtq_detach_unused(struct virtq *vq, void **cookie);

/*
 * §2.7.10: true if moving an index from OLD_IDX to NEW_IDX passes
 * EVENT_IDX (the other side asked to be told at that index).
 */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx,
				    uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) <
	       (uint16_t)(new_idx - old_idx);
}

/* ---- device side ---- */

struct virtq_device;

/*
 * Maps LEN bytes at device address ADDR (an indirect table) to a host
 * pointer, or NULL if that memory is not valid.
 */
typedef const void *(*virtq_map_fn)(void *ctx, uint64_t addr, uint32_t len);

struct virtq_device_config {
	unsigned size; /* as negotiated, power of 2 */
	bool event_idx;
	const struct virtq_desc *desc;
	const struct virtq_avail *avail;
	struct virtq_used *used;
	virtq_map_fn map; /* NULL: indirect chains rejected */
	void *map_ctx;
};

/*
 * Checks CONFIG (-EINVAL) and returns a device view in *OUT (-ENOMEM).
 * It borrows the rings until virtq_device_destroy() (accepts NULL) and
 * does not clear them: the driver side owns their initial state.
 */
int virtq_device_create(const struct virtq_device_config *config,
			struct virtq_device **out);
void virtq_device_destroy(struct virtq_device *dev);

/*
 * Takes the next available chain: 1 with its head in *HEAD and its
 * buffers in BUFS[0..*N), 0 if none, -EIO if the driver broke the rules
 * (avail->idx more than a ring ahead, an index out of range, a loop,
 * NEXT with INDIRECT, INDIRECT inside a table, a bad table, a readable
 * buffer after a writable one, more than MAX buffers).  A chain may be
 * direct descriptors ending in one INDIRECT one (§2.7.5.3.2).  With
 * EVENT_IDX it asks to be notified of the next chain (avail_event).
 */
int virtq_device_pop(struct virtq_device *dev, uint16_t *head,
		     struct virtq_buf *bufs, unsigned max, unsigned *n);

/* Writes a used element for HEAD; visible after virtq_device_flush(). */
void virtq_device_push(struct virtq_device *dev, uint16_t head, uint32_t len);

/*
 * Publishes pushed elements (used->idx, release) and returns true if the
 * driver wants an interrupt for them (used_event / NO_INTERRUPT).
 */
bool virtq_device_flush(struct virtq_device *dev);

/*
 * Notification suppression from the device side: without EVENT_IDX sets
 * or clears NO_NOTIFY; with it, enabling moves avail_event to the next
 * chain.  Enable returns true if chains arrived meanwhile.
 */
void virtq_device_disable_notify(struct virtq_device *dev);
bool virtq_device_enable_notify(struct virtq_device *dev);

#endif
