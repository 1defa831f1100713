/*
 * io.h: whole reads and writes on descriptors, and read-ahead advice.
 *
 * read(2), pread(2) and write(2) may transfer fewer bytes than asked and
 * fail with EINTR; every caller that needs all of its bytes loops the same
 * way, so it loops here once.  A read that meets the end of the file before
 * LEN bytes is -EIO: for aerofs that always means a source that shrank
 * under it, never a partial success.
 *
 * Thread safety: as the underlying calls (pread/pwrite use no file
 * position); io_write_full() advances the descriptor's position.
 */
#ifndef AEROFS_CATALOG_UTIL_IO_H
#define AEROFS_CATALOG_UTIL_IO_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Reads exactly LEN bytes at OFF of FD into BUF.  Returns 0, -errno, or
 * -EIO at end of file.  *DONE (may be NULL) gets the bytes read, for an
 * error message that says where it stopped.
 */
static inline int io_pread_full(int fd, void *buf, size_t len, uint64_t off,
				size_t *done)
{
	size_t got = 0;
	int rc = 0;

	while (got < len) {
		ssize_t r = pread(fd, (unsigned char *)buf + got, len - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	if (done)
		*done = got;
	return rc;
}

/* Writes all LEN bytes of BUF to FD.  Returns 0 or -errno (-EIO if the
 * descriptor takes nothing). */
static inline int io_write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * How much one POSIX_FADV_WILLNEED asks for.  The kernel reads at most
 * max(io_pages, ra_pages) pages per call and ignores the rest of the range
 * (force_page_cache_ra() in mm/readahead.c), where io_pages is the
 * device's max_sectors_kb and ra_pages its read_ahead_kb, 128 KiB by
 * default (VM_READAHEAD_PAGES): advice for a whole file or window would
 * start only its first few hundred kilobytes.  128 KiB fits every device.
 */
#define IO_ADVICE_PIECE (128u << 10)

/*
 * Asks the kernel to start reading [OFF, OFF + LEN) of FD into the page
 * cache (POSIX_FADV_WILLNEED, in IO_ADVICE_PIECE pieces) and returns
 * without waiting.  Advice only: a failure costs nothing but the speed, so
 * nothing is returned.
 */
static inline void io_advise_willneed(int fd, uint64_t off, uint64_t len)
{
	uint64_t n;

	for (; len; off += n, len -= n) {
		n = len < IO_ADVICE_PIECE ? len : IO_ADVICE_PIECE;
		(void)posix_fadvise(fd, (off_t)off, (off_t)n,
				    POSIX_FADV_WILLNEED);
	}
}

#endif
