/*
 * profile.c: the profile table (see profile.h).
 */
#include "catalog/stage/profile.h"

#include <string.h>

#include "catalog/stage/guest_tools.h"

/* Adding a profile: a row here, a build function in its own module. */
static const struct profile table[] = {
	{ "driver-pack", "aero-win7-drivers",
	  "the Aero Win7 driver pack (install.cmd, win7/x86, win7/amd64)",
	  catalog_build, NULL },
	{ "guest-tools", "aero-guest-tools",
	  "Aero Guest Tools (setup.cmd, config/devices.cmd, drivers/x86, "
	  "drivers/amd64)",
	  guest_tools_build, guest_tools_derive },
};

const struct profile *profiles(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct profile *profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const struct profile *profile_default(void)
{
	return &table[0];
}
