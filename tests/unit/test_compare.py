# SPDX-License-Identifier: MIT
"""Unit tests for minivmm-compare's parsing and result schema
(tools/compare/compare_lib.py), against canned output in data/compare/:
no VM is booted, no image is built."""

import copy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "compare")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "compare"))
import compare_lib as lib  # noqa: E402

SQLITE_RE = r".*COMPARE-READY sqlite3 (\d+) (\d+).*"


def data(name, mode="r"):
    with open(os.path.join(DATA, name), mode) as f:
        return f.read()


class Readiness(unittest.TestCase):
    def test_redis_pong(self):
        self.assertTrue(lib.redis_reply_ok(b"+PONG\r\n"))

    def test_redis_not_ready(self):
        for reply in (b"", b"+PON", b"+PONG",
                      b"-LOADING Redis is loading the dataset in memory\r\n",
                      data("redis-denied.txt", "rb"),
                      b"HTTP/1.1 400 Bad Request\r\n\r\n"):
            self.assertFalse(lib.redis_reply_ok(reply), reply)

    def test_http(self):
        reply = data("nginx-reply.txt", "rb")
        self.assertTrue(lib.http_reply_ok(reply, b"Welcome to nginx!"))
        self.assertFalse(lib.http_reply_ok(reply, b"It works!"))
        not_found = reply.replace(b"200 OK", b"404 Not Found", 1)
        self.assertFalse(lib.http_reply_ok(not_found, b"Welcome to nginx!"))
        self.assertFalse(lib.http_reply_ok(reply.split(b"\r\n\r\n")[0],
                                           b"Welcome to nginx!"))

    def test_ready_line_app_console(self):
        m = lib.find_ready_line(data("sqlite3-app-console.log"), SQLITE_RE)
        self.assertIsNotNone(m)
        self.assertEqual((int(m.group(1)), int(m.group(2))),
                         lib.sqlite_expected())

    def test_ready_line_machine_console(self):
        m = lib.find_ready_line(data("sqlite3-machine-console.log"), SQLITE_RE)
        self.assertIsNotNone(m)
        self.assertEqual((int(m.group(1)), int(m.group(2))),
                         lib.sqlite_expected())

    def test_no_ready_line_in_partial_console(self):
        text = data("sqlite3-app-console.log")
        cut = text.index("COMPARE-READY")
        self.assertIsNone(lib.find_ready_line(text[:cut], SQLITE_RE))
        # The script's own text echoed back is not the result line.
        self.assertIsNone(lib.find_ready_line(
            "SELECT 'COMPARE-READY sqlite3 ' || count(*)\n", SQLITE_RE))

    def test_expected_values(self):
        n, s = lib.sqlite_expected()
        self.assertEqual(n, 100000)
        self.assertEqual(s, sum(x % 97 for x in range(1, 100001)))


class Memory(unittest.TestCase):
    def test_rollup(self):
        r = lib.parse_smaps_rollup(data("smaps_rollup.txt"))
        self.assertEqual(r["Rss"], 39824 * 1024)
        self.assertEqual(r["Pss"], 37708 * 1024)
        self.assertIn("KSM", r)

    def test_guest_ram_split(self):
        rollup = lib.parse_smaps_rollup(data("smaps_rollup.txt"))
        maps = lib.parse_smaps(data("smaps.txt"))
        self.assertGreater(len(maps), 5)
        ram = lib.guest_ram_mapping(maps, 256 << 20)
        self.assertIsNotNone(ram)
        self.assertEqual(ram["end"] - ram["start"], 256 << 20)
        m = lib.memory_split(rollup, maps, 256 << 20)
        self.assertEqual(m["guest_touched"], ram["fields"]["Rss"])
        self.assertEqual(m["vmm_overhead_rss"], m["rss"] - m["guest_touched"])
        self.assertGreater(m["vmm_overhead_rss"], 0)

    def test_no_guest_ram(self):
        maps = lib.parse_smaps(data("smaps.txt"))
        self.assertIsNone(lib.guest_ram_mapping(maps, 64 << 30))
        m = lib.memory_split({"Rss": 1, "Pss": 1}, maps, 64 << 30)
        self.assertIsNone(m["guest_touched"])

    def test_meminfo_line(self):
        v = lib.parse_meminfo_line(data("sqlite3-machine-console.log"))
        self.assertEqual(v["MemTotal"], 248896 * 1024)
        self.assertEqual(v["Used"], (248896 - 223860) * 1024)
        self.assertIsNone(lib.parse_meminfo_line(data("sqlite3-app-console.log")))

    def test_meminfo_from_init(self):
        # minivmm's init reports every few seconds, amid the app's output;
        # the last report counts.
        console = ("minivmm-init: meminfo MemTotal=248924 MemFree=241668 "
                   "MemAvailable=238728 Cached=2956\r\n"
                   "COMPARE-READY sqlite3 100000 4849\n"
                   "minivmm-init: meminfo MemTotal=248924 MemFree=231000 "
                   "MemAvailable=228000 Cached=3000\n"
                   "minivmm-init: meminfo MemTotal=24")  # still being written
        v = lib.parse_meminfo_line(console)
        self.assertEqual(v["MemFree"], 231000 * 1024)
        self.assertEqual(v["Used"], (248924 - 228000) * 1024)
        self.assertIsNone(lib.parse_meminfo_line("minivmm-init: meminfo\n"))


class ToolOutput(unittest.TestCase):
    def test_minivmm_stats(self):
        s = lib.parse_minivmm_stats(data("minivmm-stats.txt"))
        self.assertEqual((s["io"], s["mmio"], s["intr"], s["other"]),
                         (63, 589, 0, 0))
        self.assertAlmostEqual(s["first_run_ms"], 45.353)
        self.assertIsNone(lib.parse_minivmm_stats("minivmm: timeout\n"))

    def test_inspect(self):
        i = lib.parse_inspect(data("redis-inspect.txt"))
        self.assertEqual((i["files"], i["regular"], i["symlinks"]), (34, 20, 14))
        self.assertEqual(i["content_bytes"], 17668715)
        self.assertIn("redis-server", i["packages"])
        self.assertIn("libc6", i["packages"])
        with self.assertRaises(ValueError):
            lib.parse_inspect("nothing here\n")

    def test_summarize(self):
        s = lib.summarize([3.0, None, 1.0, 2.0])
        self.assertEqual((s["n"], s["median"], s["min"], s["max"]), (3, 2.0, 1.0, 3.0))
        self.assertEqual(lib.summarize([None])["n"], 0)
        self.assertIsNone(lib.ratio(1, 0))
        self.assertEqual(lib.ratio(10, 4), 2.5)


class Schema(unittest.TestCase):
    def setUp(self):
        self.r = json.loads(data("result-app.json"))

    def test_canned_result_is_valid(self):
        self.assertEqual(lib.validate_result(self.r), [])
        self.assertEqual(lib.validate_result(json.loads(
            data("result-machine.json"))), [])

    def _vmm_with(self, r, key):
        for name, v in r["vmms"].items():
            if v.get(key):
                return name
        self.fail("canned result has no VMM with %s" % key)

    def test_broken_results(self):
        r0 = self.r
        run = self._vmm_with(r0, "runs")
        mem = self._vmm_with(r0, "memory")
        exits = self._vmm_with(r0, "exits")
        dens = self._vmm_with(r0, "density")
        cases = [
            (lambda r: r.pop("schema"), "schema"),
            (lambda r: r.update(kind="vm"), "kind"),
            (lambda r: r["image"].update(files=-1), "image.files"),
            (lambda r: r["host"].update(kvm="maybe"), "host.kvm"),
            (lambda r: r["vmms"].update(bochs={}), "unknown VMM"),
            (lambda r: r["vmms"][run]["runs"][0].pop("ready_s"), "ready_s"),
            (lambda r: r["vmms"][mem]["memory"].update(rss=1.5), "memory.rss"),
            (lambda r: r["vmms"][exits]["exits"].pop("mmio"), "exits.mmio"),
            (lambda r: r["vmms"][dens]["density"].pop("stop_reason"),
             "stop_reason"),
        ]
        for mutate, what in cases:
            r = copy.deepcopy(r0)
            mutate(r)
            errs = lib.validate_result(r)
            self.assertTrue(any(what in e for e in errs), (what, errs))
        self.assertEqual(lib.validate_result([]), ["result is not an object"])

    def test_table(self):
        m = json.loads(data("result-machine.json"))
        app = self.r["app"]
        md = lib.markdown_table({app: {"app": self.r, "machine": m}})
        for kind in ("machine", "app"):
            self.assertRegex(md, r"\| %s \| [^|]+ \| %s \|" % (app, kind))
        vmm = lib.pick_vmm(m, self.r)
        self.assertIn(vmm, lib.VMMS)
        ratio_row = [ln for ln in md.splitlines()
                     if ln.startswith("| %s | %s |" % (app, vmm))]
        self.assertEqual(len(ratio_row), 1)
        self.assertIn("smaller", ratio_row[0])
        self.assertIn("not ready", md)  # the machine image on PVM

    def test_density_cell_names_the_cap(self):
        # Stopped by --max-vms: the budget would have held more; say so.
        self.assertEqual(lib._reached({"reached": 8, "stop_reason": "max-vms"}),
                         "8 (cap)")
        self.assertEqual(lib._reached({"reached": 4, "stop_reason": "budget"}),
                         "4")
        self.assertEqual(lib._reached({"reached": 1, "stop_reason":
                                       "not ready: x"}), "1 (not ready: x)")

    def test_projection(self):
        m = json.loads(data("result-machine.json"))
        a = self.r
        p = lib.minivmm_projection(m, a, 256 << 20)
        self.assertIsNotNone(p)  # the canned machine image failed on minivmm
        over = a["vmms"]["minivmm"]["memory"]["vmm_overhead_pss"]
        self.assertEqual(p["overhead_pss"], over)
        for kind, r in (("machine", m), ("app", a)):
            g = r["vmms"][p["compared_on"]]["memory"]["guest_pss"]
            self.assertEqual(p["kinds"][kind]["pss"], g + over)
            self.assertEqual(p["kinds"][kind]["vms"], (256 << 20) // (g + over))
        self.assertIn("Projected for minivmm",
                      lib.markdown_table({a["app"]: {"app": a, "machine": m}}))
        # Nothing to project when minivmm booted both kinds.
        m2 = copy.deepcopy(m)
        m2["vmms"]["minivmm"] = copy.deepcopy(a["vmms"]["minivmm"])
        self.assertIsNone(lib.minivmm_projection(m2, a, 256 << 20))


if __name__ == "__main__":
    unittest.main(verbosity=2)
