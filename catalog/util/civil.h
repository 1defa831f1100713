/*
 * civil.h: UTC calendar arithmetic without libc: no TZ, no locale, no
 * range limit of time_t or gmtime().  Every date the project reads (ISO
 * volume dates, catalog times) or writes (manifest, ISO records, ZIP) goes
 * through here, so that output never depends on the host's zone.
 * Proleptic Gregorian calendar; H. Hinnant's days_from_civil and
 * civil_from_days algorithms.
 */
#ifndef AEROFS_CATALOG_UTIL_CIVIL_H
#define AEROFS_CATALOG_UTIL_CIVIL_H

#include <stdint.h>

struct civil_time {
	int64_t year;
	unsigned month; /* 1..12 */
	unsigned day;	/* 1..31 */
	unsigned hour, min, sec;
};

/* Days from 1970-01-01 to YEAR-MONTH-DAY (MONTH 1..12, DAY 1..31). */
int64_t civil_days(int64_t year, unsigned month, unsigned day);

/* Seconds since 1970-01-01T00:00:00Z of C (fields assumed in range). */
int64_t civil_to_time(const struct civil_time *c);

/* The UTC date and time of T seconds since the epoch, any int64 T. */
void civil_from_time(int64_t t, struct civil_time *c);

#endif
