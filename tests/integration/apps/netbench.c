// SPDX-License-Identifier: MIT
/*
 * netbench: the guest half of tools/bench_net_guest.sh.  Connects to
 * HOST:PORT over TCP, sends MIB MiB (guest to host), then receives MIB MiB
 * (host to guest), checks every byte against the pattern both sides use
 * (the byte at stream offset o is o % 251), and answers with one byte so
 * that the host can stop its clock.  The host times both directions; the
 * guest's own clock is printed for comparison only.
 *
 * Under PVM every system call and page fault goes through the emulated
 * guest kernel (milliseconds each), so the buffer is static, touched once,
 * and moved in 64 KiB calls.
 *
 *   netbench HOST PORT MIB      exit status 0 when both directions were whole
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define PERIOD 251

static uint8_t pattern[PERIOD + CHUNK];
static uint8_t buf[CHUNK];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether eth0 checksums in the device (what the VMM's virtio-net
 * offered): "on", "off" or "?". */
static const char *offload(int fd, uint32_t cmd)
{
	struct ethtool_value v = { .cmd = cmd };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	ifr.ifr_data = (void *)&v;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return "?";
	return v.data ? "on" : "off";
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "netbench: bad address '%s'\n", host);
		return -1;
	}
	/* The host's server may not be listening yet: a few tries. */
	for (int i = 0; i < 10; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			break;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		fprintf(stderr, "netbench: connect %s:%d: %s\n", host, port,
			strerror(errno));
		close(fd);
		sleep(1);
	}
	return -1;
}

int main(int argc, char **argv)
{
	uint64_t total, done;
	double t0, t1, t2;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: netbench HOST PORT MIB\n");
		return 2;
	}
	total = strtoull(argv[3], NULL, 0) << 20;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PERIOD);
	fd = dial(argv[1], atoi(argv[2]));
	if (fd < 0)
		return 1;
	printf("netbench: connected to %s:%s, %llu bytes each way; eth0 checksum offload: tx %s, rx %s\n",
	       argv[1], argv[2], (unsigned long long)total,
	       offload(fd, ETHTOOL_GTXCSUM), offload(fd, ETHTOOL_GRXCSUM));
	fflush(stdout);

	t0 = now_s();
	for (done = 0; done < total;) {
		size_t want = total - done < CHUNK ? (size_t)(total - done) :
						     CHUNK;
		ssize_t n = send(fd, pattern + done % PERIOD, want, 0);

		if (n <= 0) {
			fprintf(stderr, "netbench: send after %llu bytes: %s\n",
				(unsigned long long)done,
				n ? strerror(errno) : "nothing sent");
			return 1;
		}
		done += (uint64_t)n;
	}
	t1 = now_s();
	for (done = 0; done < total;) {
		size_t want = total - done < CHUNK ? (size_t)(total - done) :
						     CHUNK;
		ssize_t n = recv(fd, buf, want, MSG_WAITALL);

		if (n <= 0) {
			fprintf(stderr, "netbench: recv after %llu bytes: %s\n",
				(unsigned long long)done,
				n ? strerror(errno) : "connection closed");
			return 1;
		}
		if (memcmp(buf, pattern + done % PERIOD, (size_t)n)) {
			fprintf(stderr, "netbench: corrupt data near offset %llu\n",
				(unsigned long long)done);
			return 1;
		}
		done += (uint64_t)n;
	}
	t2 = now_s();
	if (send(fd, "k", 1, 0) != 1) {
		fprintf(stderr, "netbench: final byte: %s\n", strerror(errno));
		return 1;
	}
	/* Wait for the host to close, so the byte is not lost to a reset. */
	(void)!recv(fd, buf, 1, 0);
	close(fd);
	printf("netbench: guest clock: sent in %.2f s (%.3f MB/s), received in %.2f s (%.3f MB/s)\n",
	       t1 - t0, (double)total / (t1 - t0) / 1e6, t2 - t1,
	       (double)total / (t2 - t1) / 1e6);
	return 0;
}
