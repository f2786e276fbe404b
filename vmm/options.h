/* SPDX-License-Identifier: MIT */
/*
 * minivmm's command line: the options, their checks, and the network plan
 * they describe.  Everything here runs before the VM exists.
 */
#ifndef MINIVMM_OPTIONS_H
#define MINIVMM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../devices/net_slirp.h" /* USER_GUEST, USER_GATEWAY, USER_DNS */
#include "launch.h"

#define MINIVMM_VERSION "0.1"
#define DEFAULT_MEM (256ULL << 20)
#define MIN_MEM (2ULL << 20)
#define STATUS_USAGE 125 /* minivmm itself failed, as docker run's 125 */
#define STATUS_TIMEOUT 124 /* as timeout(1) */

struct options {
	const char *kernel;
	const char *app;
	const char *initrd;
	const char *cmdline;
	const char *workdir;
	const char *write_initrd;
	char **env;
	unsigned int nenv;
	char **app_argv; /* after "--" */
	char **disks; /* --disk FILE[,ro] */
	unsigned int ndisks;
	const char *net; /* --net SPEC */
	char *hostfwd; /* -p forwards, as ",hostfwd=tcp:H-:G..." */
	const char *mac;
	uint64_t mem;
	unsigned int cpus;
	unsigned int timeout_s;
	int pvm_quirks; /* -1 auto */
	bool verbose, quiet, stats, trace_testport;
};


enum net_kind { NET_NONE, NET_USER, NET_TAP };

struct net_plan {
	enum net_kind kind;
	char user_spec[1024]; /* after "user": ",hostfwd=..." */
	char tap[32];
	struct launch_net launch;
	bool configure; /* give init a net node */
};



/* Print "minivmm: <message>" on stderr; returns STATUS_USAGE. */
int vmm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void options_usage(FILE *f);

/* Parse argv; returns 0 or STATUS_USAGE after one line on stderr. */
int options_parse(int argc, char **argv, struct options *o);

/* What --net, -p and --mac ask for; 0 or STATUS_USAGE. */
int net_plan_make(const struct options *o, struct net_plan *p);

/* Read a whole regular file; 0, or STATUS_USAGE after one line. */
int read_file(const char *what, const char *path, uint8_t **data,
	      size_t *size);

#endif
