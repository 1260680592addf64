/* azure_fake.c - clock and environments for the Azure targets (azure_fake.h). */
#include "azure_fake.h"

#include <string.h>

int64_t azure_fake_clock_ms;

int64_t azure_fake_clock(void *ud)
{
	(void)ud;
	return azure_fake_clock_ms;
}

char *azure_fake_env_secret(const char *name)
{
	if (!strcmp(name, "AZURE_TENANT_ID"))
		return (char *)"tenant-1";
	if (!strcmp(name, "AZURE_CLIENT_ID"))
		return (char *)"client-1";
	if (!strcmp(name, "AZURE_CLIENT_SECRET"))
		return (char *)AZURE_FAKE_SECRET;
	return NULL;
}

char *azure_fake_env_mi(const char *name)
{
	return !strcmp(name, "AZURE_CLIENT_ID") ? (char *)"client-1" : NULL;
}

char *azure_fake_env_none(const char *name)
{
	(void)name;
	return NULL;
}
