// SPDX-License-Identifier: MIT
/*
 * minivmm guest init: the memory reporter.  With "minivmm.meminfo=N" on the
 * kernel command line, init starts a child that prints the guest's own view
 * of its memory on the console every N seconds, so that tools on the host
 * (tools/minivmm-compare) can set it beside what the host sees.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "minivmm/guest_abi.h"
#include "launch_parse.h"

#include "init.h"

/*
 * The guest's own view of its memory, one console line of /proc/meminfo's
 * main fields in kB ("minivmm-init: meminfo MemTotal=... MemAvailable=..."),
 * for tools that compare what the host sees with what the guest uses.
 */
static void init_meminfo_report(void)
{
	static const char *const keys[] = { "MemTotal",	    "MemFree",
					    "MemAvailable", "Buffers",
					    "Cached",	    "Shmem",
					    "Slab" };
	char buf[4096], line[400] = "", *p, *nl;
	unsigned long long kb;
	size_t len = 0;

	/* The keys are among the first lines: what fits is enough. */
	if (!init_read_proc("/proc/meminfo", buf, sizeof(buf)))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(keys) && len < sizeof(line); i++) {
		for (p = buf; p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			if (strncmp(p, keys[i], strlen(keys[i])) ||
			    p[strlen(keys[i])] != ':')
				continue;
			if (sscanf(p + strlen(keys[i]) + 1, "%llu", &kb) == 1)
				len += (size_t)snprintf(line + len,
							sizeof(line) - len,
							" %s=%llu", keys[i], kb);
			break;
		}
	}
	init_say("meminfo%s", line);
}

/* A child that reports memory every @every seconds until it is killed. */
void init_meminfo_start(unsigned int every)
{
	pid_t pid = fork();

	if (pid < 0) {
		init_say("fork (meminfo): %s", strerror(errno));
		return;
	}
	if (pid > 0)
		return;
	for (;;) {
		sleep(every);
		init_meminfo_report();
	}
}
