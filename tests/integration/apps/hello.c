// SPDX-License-Identifier: MIT
/*
 * A tiny static app for the Linux integration tests: prints a greeting, its
 * arguments and the guest's uptime, then exits with the status given as its
 * first argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char up[64] = "?";
	FILE *f = fopen("/proc/uptime", "r");

	if (f) {
		if (!fgets(up, sizeof(up), f))
			up[0] = '\0';
		fclose(f);
	}
	printf("hello from the app: pid %d, %d args, uptime %s", (int)getpid(),
	       argc - 1, up);
	for (int i = 1; i < argc; i++)
		printf("arg %d: %s\n", i, argv[i]);
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
