// SPDX-License-Identifier: MIT
/*
 * Unit tests for the guest init's launch description parser: blobs are built
 * with libfdt's sequential-write API, good ones and broken ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <libfdt.h>

#include "minivmm/guest_abi.h"
#include "launch_parse.h"

#define BLOB_SIZE 4096

/* A property value; val NULL leaves the property out. */
struct prop {
	const char *val;
	int len;
};

/* sizeof, not strlen: string lists are literals with embedded NULs. */
#define PROP(s) ((struct prop){(s), sizeof(s)})

/* What to put in a test blob. */
struct spec {
	const char *compat;
	struct prop argv, env, cwd, root;
	struct prop root_disk, root_fstype; /* the app image form */
	bool exit_dev;
	struct prop exit_reg; /* raw bytes, for broken sizes */
	uint64_t exit_addr; /* used when exit_reg.val is NULL */
	uint32_t exit_port;
	bool net; /* a net node, with these properties */
	struct prop mac, address, gateway, dns;
};

static struct spec spec_good(void)
{
	return (struct spec){
	    .compat = MINIVMM_LAUNCH_COMPAT,
	    .argv = PROP("/bin/prog\0-x\0"),
	    .env = PROP("A=1\0PATH=/opt/bin"),
	    .cwd = PROP("/work"),
	    .root = PROP("/srv/app"),
	    .exit_dev = true,
	    /* Above 4 GiB, so that both cells matter. */
	    .exit_addr = 0x100002000ULL,
	    .exit_port = 0xf4,
	};
}

static void prop_add(void *fdt, const char *name, struct prop p)
{
	if (p.val)
		cr_assert_eq(fdt_property(fdt, name, p.val, p.len), 0);
}

/* Build @s into @buf; returns the blob's size. */
static size_t blob_build(void *buf, const struct spec *s)
{
	cr_assert_eq(fdt_create(buf, BLOB_SIZE), 0);
	cr_assert_eq(fdt_finish_reservemap(buf), 0);
	cr_assert_eq(fdt_begin_node(buf, ""), 0);
	if (s->compat)
		cr_assert_eq(fdt_property_string(buf, "compatible", s->compat),
			     0);
	cr_assert_eq(fdt_begin_node(buf, "app"), 0);
	prop_add(buf, "argv", s->argv);
	prop_add(buf, "env", s->env);
	prop_add(buf, "cwd", s->cwd);
	prop_add(buf, "root", s->root);
	prop_add(buf, "root-disk", s->root_disk);
	prop_add(buf, "root-fstype", s->root_fstype);
	cr_assert_eq(fdt_end_node(buf), 0);
	if (s->exit_dev) {
		cr_assert_eq(fdt_begin_node(buf, "exit-device"), 0);
		if (s->exit_reg.val)
			prop_add(buf, "reg", s->exit_reg);
		else
			cr_assert_eq(fdt_property_u64(buf, "reg", s->exit_addr),
				     0);
		cr_assert_eq(fdt_property_u32(buf, "io-port", s->exit_port), 0);
		cr_assert_eq(fdt_end_node(buf), 0);
	}
	if (s->net) {
		cr_assert_eq(fdt_begin_node(buf, "net"), 0);
		prop_add(buf, "mac", s->mac);
		prop_add(buf, "address", s->address);
		prop_add(buf, "gateway", s->gateway);
		prop_add(buf, "dns", s->dns);
		cr_assert_eq(fdt_end_node(buf), 0);
	}
	cr_assert_eq(fdt_end_node(buf), 0);
	cr_assert_eq(fdt_finish(buf), 0);
	return fdt_totalsize(buf);
}

/* Parse @s; a failure must leave no lists behind and say why. */
static int parse_spec(const struct spec *s, struct launch *l)
{
	/*
	 * The parsed strings point into the blob, and the callers read them
	 * after we return: the blob must outlive this frame.
	 */
	static uint64_t buf[BLOB_SIZE / 8];
	size_t size = blob_build(buf, s);
	int err = launch_parse(buf, size, l);

	if (err) {
		cr_assert_eq(err, -EINVAL);
		cr_assert_null(l->argv);
		cr_assert_null(l->env);
		cr_assert_null(l->root_disk);
		cr_assert_not(l->net.present);
		cr_assert_neq(l->err[0], '\0');
	}
	return err;
}

Test(launch_parse, good_blob_gives_every_field)
{
	struct spec s = spec_good();
	struct launch l;

	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_str_eq(l.argv[0], "/bin/prog");
	cr_assert_str_eq(l.argv[1], "-x");
	cr_assert_str_eq(l.argv[2], "", "empty arguments are kept");
	cr_assert_null(l.argv[3]);
	cr_assert_str_eq(l.env[0], "A=1");
	cr_assert_str_eq(l.env[1], "PATH=/opt/bin");
	cr_assert_null(l.env[2]);
	cr_assert_str_eq(l.cwd, "/work");
	cr_assert(l.has_cwd);
	cr_assert_str_eq(l.root, "/srv/app");
	cr_assert_null(l.root_disk, "directory form");
	cr_assert_null(l.root_fstype);
	cr_assert_eq(l.exit_addr, 0x100002000ULL);
	cr_assert_eq(l.exit_port, 0xf4);
	cr_assert_not(l.net.present, "no net node");
	cr_assert_str_eq(l.err, "");
	launch_free(&l);
	launch_free(&l);
}

Test(launch_parse, defaults_for_optional_fields)
{
	struct spec s = spec_good();
	struct launch l;

	s.env = (struct prop){0};
	s.cwd = (struct prop){0};
	s.root = (struct prop){0};
	s.exit_dev = false;
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_not_null(l.env);
	cr_assert_null(l.env[0]);
	cr_assert_str_eq(l.cwd, "/");
	cr_assert_not(l.has_cwd);
	cr_assert_str_eq(l.root, MINIVMM_APP_ROOT);
	cr_assert_eq(l.exit_addr, MINIVMM_EXIT_MMIO);
	cr_assert_eq(l.exit_port, MINIVMM_EXIT_PORT);
	launch_free(&l);
}

Test(launch_parse, missing_argv_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.argv = (struct prop){0};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert(strstr(l.err, "argv"), "%s", l.err);
	/* The exit device was valid: failures are still reported there. */
	cr_assert_eq(l.exit_addr, 0x100002000ULL);
}

Test(launch_parse, argv_without_nul_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.argv = (struct prop){"prog", 4};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s.argv = (struct prop){"prog\0arg", 8};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, empty_argv_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.argv = (struct prop){"", 0};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s.argv = PROP("\0arg");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, bad_paths_fail)
{
	struct spec s = spec_good();
	struct launch l;

	s.cwd = PROP("work");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s = spec_good();
	s.root = PROP("/a\0/b");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s = spec_good();
	s.cwd = (struct prop){"/work", 5};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, env_entry_without_name_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.env = PROP("A=1\0JUNK");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s.env = PROP("=1");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, bad_exit_device_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.exit_reg = (struct prop){"\0\0\0\0", 4};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert_eq(l.exit_addr, MINIVMM_EXIT_MMIO, "defaults kept");
	s = spec_good();
	s.exit_addr = 0xfe000004ULL;
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s = spec_good();
	s.exit_port = 0x10000;
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, wrong_compatible_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.compat = "minivmm,launch-v2";
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s.compat = NULL;
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, empty_and_truncated_blobs_fail)
{
	uint64_t buf[BLOB_SIZE / 8];
	struct spec s = spec_good();
	struct launch l;
	size_t size = blob_build(buf, &s);

	cr_assert_eq(launch_parse(NULL, 0, &l), -EINVAL);
	cr_assert_eq(launch_parse(buf, 0, &l), -EINVAL);
	cr_assert_eq(launch_parse(buf, 20, &l), -EINVAL);
	cr_assert_eq(launch_parse(buf, size - 1, &l), -EINVAL);
	cr_assert(strstr(l.err, "truncated"), "%s", l.err);
	cr_assert_eq(launch_parse(buf, size, &l), 0, "%s", l.err);
	launch_free(&l);
}

Test(launch_parse, bad_magic_fails)
{
	uint64_t buf[BLOB_SIZE / 8];
	struct spec s = spec_good();
	struct launch l;
	size_t size = blob_build(buf, &s);

	((unsigned char *)buf)[0] ^= 0xff;
	cr_assert_eq(launch_parse(buf, size, &l), -EINVAL);
	cr_assert(strstr(l.err, "header"), "%s", l.err);
}

static struct spec spec_image(void);
static struct spec spec_net(void);

/* Flip bytes of @s's blob: each result is either parsed or refused. */
static void corrupt_spec(const struct spec *s)
{
	static const unsigned char flips[] = {0x01, 0x80, 0xff};
	uint64_t good[BLOB_SIZE / 8], buf[BLOB_SIZE / 8];
	size_t size = blob_build(good, s), off, f;
	struct launch l;
	int err;

	for (off = 0; off < size; off++) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(buf, good, size);
			((unsigned char *)buf)[off] ^= flips[f];
			err = launch_parse(buf, size, &l);
			cr_assert(err == 0 || err == -EINVAL);
			if (err) {
				launch_free(&l);
				continue;
			}
			/* No argv only where a disk brings one. */
			if (l.argv[0])
				cr_assert_neq(l.argv[0][0], '\0');
			else
				cr_assert_not_null(l.root_disk);
			if (l.root_disk)
				cr_assert_not_null(l.root_fstype);
			launch_free(&l);
		}
	}
}

/* Every single-byte corruption is either parsed or refused, never a crash. */
Test(launch_parse, corrupted_bytes_never_crash)
{
	struct spec s = spec_good();

	corrupt_spec(&s);
	s = spec_image();
	s.argv = PROP("/bin/prog");
	s.root_fstype = PROP("ext4");
	corrupt_spec(&s);
	s = spec_net();
	corrupt_spec(&s);
}

/* The app image form: root-disk names the disk, argv may come from it. */
static struct spec spec_image(void)
{
	struct spec s = spec_good();

	s.root = PROP("/app");
	s.root_disk = PROP("/dev/vda");
	s.argv = (struct prop){0};
	s.env = (struct prop){0};
	s.cwd = (struct prop){0};
	return s;
}

Test(launch_parse, image_form_without_argv)
{
	struct spec s = spec_image();
	struct launch l;

	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_str_eq(l.root_disk, "/dev/vda");
	cr_assert_str_eq(l.root_fstype, "erofs", "the default");
	cr_assert_str_eq(l.root, "/app");
	cr_assert_not_null(l.argv);
	cr_assert_null(l.argv[0], "argv left to the manifest");
	cr_assert_null(l.env[0]);
	cr_assert_str_eq(l.cwd, "/");
	cr_assert_not(l.has_cwd, "the manifest's cwd applies");
	launch_free(&l);
}

Test(launch_parse, image_form_with_argv_and_cwd)
{
	struct spec s = spec_image();
	struct launch l;

	s.argv = PROP("sh\0-c\0exit 3");
	s.cwd = PROP("/srv");
	s.root_fstype = PROP("squashfs");
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_str_eq(l.argv[0], "sh");
	cr_assert_str_eq(l.argv[2], "exit 3");
	cr_assert_null(l.argv[3]);
	cr_assert_str_eq(l.cwd, "/srv");
	cr_assert(l.has_cwd);
	cr_assert_str_eq(l.root_fstype, "squashfs");
	launch_free(&l);
	s.root_fstype = PROP("ext4");
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_str_eq(l.root_fstype, "ext4");
	launch_free(&l);
}

Test(launch_parse, image_form_empty_or_bad_argv_fails)
{
	struct spec s = spec_image();
	struct launch l;

	/* Present but empty is a mistake, not "use the manifest's". */
	s.argv = (struct prop){"", 0};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert(strstr(l.err, "argv"), "%s", l.err);
	s.argv = PROP("\0x");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	s.argv = (struct prop){"sh", 2};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
}

Test(launch_parse, bad_fstype_fails)
{
	static const struct prop bad[] = {
	    PROP("xfs"), PROP("EROFS"), PROP("erofs\0ext4"), PROP(""),
	    {"erofs", 5}, {"\0\0\0\1", 4},
	};
	struct spec s = spec_image();
	struct launch l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.root_fstype = bad[i];
		cr_assert_eq(parse_spec(&s, &l), -EINVAL, "case %zu", i);
		cr_assert(strstr(l.err, "root-fstype"), "%s", l.err);
	}
}

Test(launch_parse, non_string_root_disk_fails)
{
	static const struct prop bad[] = {
	    {"\0\0\0\1", 4}, /* <1> */
	    {"/dev/vda", 8}, /* no NUL */
	    PROP("/dev/vda\0/dev/vdb"), PROP("vda"), PROP(""), {"", 0},
	};
	struct spec s = spec_image();
	struct launch l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.root_disk = bad[i];
		cr_assert_eq(parse_spec(&s, &l), -EINVAL, "case %zu", i);
		cr_assert(strstr(l.err, "root-disk"), "%s", l.err);
	}
}

Test(launch_parse, fstype_without_disk_fails)
{
	struct spec s = spec_good();
	struct launch l;

	s.root_fstype = PROP("erofs");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert(strstr(l.err, "root-fstype"), "%s", l.err);
}

Test(launch_parse, image_form_refuses_slash_root)
{
	struct spec s = spec_image();
	struct launch l;

	s.root = PROP("/");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert(strstr(l.err, "root"), "%s", l.err);
}

Test(launch_parse, directory_form_still_needs_argv)
{
	struct spec s = spec_image();
	struct launch l;

	s.root_disk = (struct prop){0};
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert(strstr(l.err, "argv: missing"), "%s", l.err);
}

/* The net node (guest_abi.h, "Network"). */
static const char mac_good[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static struct spec spec_net(void)
{
	struct spec s = spec_good();

	s.net = true;
	s.mac = (struct prop){mac_good, sizeof(mac_good)};
	s.address = PROP("10.0.2.15/24");
	s.gateway = PROP("10.0.2.2");
	s.dns = PROP("10.0.2.3");
	return s;
}

/* Parse @s, which must fail on the net node's @name. */
static void net_refused(const struct spec *s, const char *name, int line)
{
	char want[32];
	struct launch l;

	snprintf(want, sizeof(want), "/net/%s", name);
	cr_assert_eq(parse_spec(s, &l), -EINVAL, "line %d: parsed", line);
	cr_assert(strstr(l.err, want), "line %d: %s", line, l.err);
}
#define NET_REFUSED(s, name) net_refused(&(s), (name), __LINE__)

Test(launch_parse, net_node_gives_every_field)
{
	struct spec s = spec_net();
	struct launch l;

	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert(l.net.present);
	cr_assert_arr_eq(l.net.mac, mac_good, sizeof(mac_good));
	cr_assert_eq(ntohl(l.net.addr.s_addr), 0x0a00020f);
	cr_assert_eq(l.net.prefix, 24);
	cr_assert(l.net.has_gateway);
	cr_assert_eq(ntohl(l.net.gateway.s_addr), 0x0a000202);
	cr_assert(l.net.has_dns);
	cr_assert_eq(ntohl(l.net.dns.s_addr), 0x0a000203);
	/* The rest of the launch description is unchanged by it. */
	cr_assert_str_eq(l.argv[0], "/bin/prog");
	launch_free(&l);
}

Test(launch_parse, net_gateway_and_dns_are_optional)
{
	struct spec s = spec_net();
	struct launch l;

	s.gateway = (struct prop){0};
	s.dns = (struct prop){0};
	s.address = PROP("192.168.255.254/32");
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert(l.net.present);
	cr_assert_eq(ntohl(l.net.addr.s_addr), 0xc0a8fffe);
	cr_assert_eq(l.net.prefix, 32);
	cr_assert_not(l.net.has_gateway);
	cr_assert_not(l.net.has_dns);
	launch_free(&l);
	s.address = PROP("255.255.255.255/0");
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_eq(l.net.addr.s_addr, 0xffffffff);
	cr_assert_eq(l.net.prefix, 0);
	launch_free(&l);
}

Test(launch_parse, net_mac_must_be_six_unicast_bytes)
{
	static const char multicast[] = {0x01, 0, 0x5e, 0, 0, 1};
	static const char zero[6] = {0};
	struct spec s = spec_net();

	s.mac = (struct prop){mac_good, 5};
	NET_REFUSED(s, "mac");
	s.mac = (struct prop){"\x52\x54\x00\x12\x34\x56\x78", 7};
	NET_REFUSED(s, "mac");
	s.mac = (struct prop){"", 0};
	NET_REFUSED(s, "mac");
	s.mac = PROP("52:54:00:12:34:56");
	NET_REFUSED(s, "mac");
	s.mac = (struct prop){multicast, sizeof(multicast)};
	NET_REFUSED(s, "mac");
	s.mac = (struct prop){zero, sizeof(zero)};
	NET_REFUSED(s, "mac");
	s.mac = (struct prop){0};
	NET_REFUSED(s, "mac");
}

Test(launch_parse, net_address_needs_a_prefix_up_to_32)
{
	static const struct prop bad[] = {
	    PROP("10.0.2.15"),
	    PROP("10.0.2.15/33"),
	    PROP("10.0.2.15/"),
	    PROP("10.0.2.15/-1"),
	    PROP("10.0.2.15/+8"),
	    PROP("10.0.2.15/08"),
	    PROP("10.0.2.15/240"),
	    PROP("10.0.2.15/24 "),
	    PROP("10.0.2.15/24/8"),
	    PROP("/24"),
	    PROP("0.0.0.0/8"),
	    PROP("10.0.2/24"),
	    PROP(""),
	};
	struct spec s = spec_net();
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.address = bad[i];
		NET_REFUSED(s, "address");
	}
	s.address = (struct prop){0};
	NET_REFUSED(s, "address");
}

Test(launch_parse, net_bad_dotted_quads_fail)
{
	static const struct prop bad[] = {
	    PROP("10.0.2"),	PROP("256.1.1.1"),  PROP("1.2.3.256"),
	    PROP("1.2.3.4.5"),	PROP("1..2.3"),	    PROP("1.2.3."),
	    PROP(".1.2.3"),	PROP(" 1.2.3.4"),   PROP("1.2.3.4 "),
	    PROP("01.2.3.4"),	PROP("1.2.3.0004"), PROP("1.2.3.4/24"),
	    PROP("0x0a.0.2.2"), PROP("-1.2.3.4"),   PROP("10.0.2.2\n"),
	    PROP("0.0.0.0"),	PROP(""),	    PROP("1000.1.1.1"),
	};
	struct spec s = spec_net();
	struct launch l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = spec_net();
		s.gateway = bad[i];
		NET_REFUSED(s, "gateway");
		s = spec_net();
		s.dns = bad[i];
		NET_REFUSED(s, "dns");
	}
	/* Zero fields are fine as long as they are not padded. */
	s = spec_net();
	s.gateway = PROP("0.10.0.255");
	cr_assert_eq(parse_spec(&s, &l), 0, "%s", l.err);
	cr_assert_eq(ntohl(l.net.gateway.s_addr), 0x000a00ff);
	launch_free(&l);
}

Test(launch_parse, net_strings_must_be_one_terminated_string)
{
	static const char *const names[] = {"address", "gateway", "dns"};
	static const struct prop bad[] = {
	    {"10.0.2.15/24", 12}, /* no NUL */
	    {"10.0.2.2", 8}, /* no NUL */
	    PROP("10.0.2.2\0"
		 "10.0.2.3"), /* a list */
	    {"\0\0\0\1", 4}, /* a cell */
	};
	struct spec s;
	struct prop *fields[] = {&s.address, &s.gateway, &s.dns};
	size_t i, j;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			s = spec_net();
			*fields[i] = bad[j];
			NET_REFUSED(s, names[i]);
		}
	}
}

Test(launch_parse, net_failure_keeps_exit_device)
{
	struct spec s = spec_net();
	struct launch l;

	s.address = PROP("10.0.2.15/33");
	cr_assert_eq(parse_spec(&s, &l), -EINVAL);
	cr_assert_eq(l.exit_addr, 0x100002000ULL, "%s", l.err);
	cr_assert_null(l.argv);
}
