/*
 * report.c: the plain-data report of a build (report.h).
 */
#include "catalog/stage/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int report_set(char **dst, const char *s)
{
	char *c = NULL;

	if (s && !(c = strdup(s)))
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

void report_free(struct report *r)
{
	free(r->source.name);
	free(r->source.names);
	free(r->source.volume_label);
	free(r->source.version);
	free(r->epoch_source);
	strlist_free(&r->drivers);
	for (size_t i = 0; i < SELECT_NDRIVERS; i++) {
		free(r->drv[i].error);
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			free(r->drv[i].t[t].source_path);
			inspect_result_free(&r->drv[i].t[t].res);
		}
	}
	strlist_free(&r->warnings);
	memset(r, 0, sizeof(*r));
}
