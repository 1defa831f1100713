/*
 * virtio_ids.c: not written yet.
 */
#include "virtio/virtio_ids.h"
