/* SPDX-License-Identifier: MIT */
/*
 * Run a program once under ptrace and record the files it really uses: every
 * path that open(), openat() or openat2() opened successfully, every path a
 * successful stat(), lstat(), newfstatat(), statx(), access() or faccessat()
 * looked at, and every program it executed, in any of its processes and
 * threads.  This is how an
 * app image catches what the ELF closure cannot see: dlopen()ed plugins,
 * locale and time zone data, configuration, certificates.
 */
#ifndef MINIVMM_TOOLS_IMGTRACE_H
#define MINIVMM_TOOLS_IMGTRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "fileset.h"

struct trace_result {
	/*
	 * Absolute, lexically normalised paths, first use first, each once
	 * (entries of type FS_FILE whatever they name: none was lstat()ed).
	 */
	struct fileset paths;
	int status; /* the program's wait status */
	bool timed_out; /* killed after the time limit */
	bool interrupted; /* killed because SIGINT/TERM/HUP was pending */
	unsigned long nopen, nstat, nexec; /* successful calls seen */
};

/*
 * Run @argv (argv[0] an absolute path) with the environment @envp, in @cwd
 * (NULL: ours), with stdin, stdout and stderr on /dev/null, in its own
 * process group and with no signals blocked, for at most @timeout_s seconds
 * (then everything it started is killed; what was recorded is kept).
 * SIGCHLD is blocked in the caller while it runs; a SIGINT, SIGTERM or
 * SIGHUP that the caller blocked and that arrives meanwhile ends the run
 * early (res->interrupted).  Returns 0 (@res filled
 * in; free it with trace_result_free()) or -errno with @err set to one line
 * saying why.
 */
int trace_run(char *const argv[], char *const envp[], const char *cwd,
	      unsigned int timeout_s, struct trace_result *res, char *err,
	      size_t errlen);
void trace_result_free(struct trace_result *res);

#endif
