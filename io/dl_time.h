/* dl_time.h: ISO-8601 timestamp parsing shared by the io/ readers (GPS CSV,
 * GPX, gpsd JSON, manifests, instrument CSV). */
#ifndef DL_TIME_H
#define DL_TIME_H

#include <stddef.h>

/* Parses the n bytes at s as an ISO-8601 date-time:
 *   YYYY-MM-DD[T| ]hh:mm[:ss[.fff...]][Z|+hh:mm|-hh:mm|+hhmm|+hh]
 * Leading/trailing blanks are ignored; anything else left over is an error.
 * Stores seconds since 1970-01-01 UTC in *t (fraction kept to the ns
 * digit; as a double that is about 0.1 us near 2020). *has_zone (may be
 * NULL) says whether the text named a zone; without one the time is read
 * as UTC. Returns 0, or DL_EFORMAT when the text is not such a time or a
 * field is out of range (month 13, day 31 of April, hour 24, ...). */
int dl_parse_iso8601_zone(const char *s, size_t n, double *t, int *has_zone);
/* Same, without telling whether a zone was given. */
int dl_parse_iso8601(const char *s, size_t n, double *t);

#endif
