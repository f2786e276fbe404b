# SPDX-License-Identifier: MIT
"""Pure parts of minivmm-compare: parsing what VMMs, guests and tools print,
the statistics, the result schema and the report.  Nothing here starts a
process or touches the network, so tests/unit/test_compare.py can check it
all against canned input."""

import json
import re
import statistics

SCHEMA = "minivmm-compare/1"
KINDS = ("machine", "app")
VMMS = ("minivmm", "qemu-tcg")


# ---- readiness ---------------------------------------------------------------

def redis_reply_ok(reply):
    """True when REPLY (bytes) is redis' answer to PING: the simple string
    +PONG, CRLF terminated (RESP).  -LOADING, -DENIED (protected mode) and
    anything else are not ready."""
    return reply.startswith(b"+PONG\r\n")


def http_reply_ok(reply, needle):
    """True when REPLY (bytes) is an HTTP/1.x 200 response whose body holds
    NEEDLE (bytes)."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return bool(m) and m.group(1) == b"200" and needle in body


def find_ready_line(console, pattern):
    """Search console output (str, as read so far) for the batch program's
    ready line.  PATTERN is a regex matched against each whole line (after
    dropping the terminal's carriage returns and escape sequences).  Returns
    the match object of the first matching line, or None."""
    rx = re.compile(pattern)
    for line in console.splitlines():
        line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line).strip("\r ")
        m = rx.fullmatch(line)
        if m:
            return m
    return None


SQLITE_ROWS = 100000
SQLITE_MOD = 97


def sqlite_expected():
    """The values batch.sql must print: the row count and sum(x % 97) over
    x = 1..SQLITE_ROWS (computed here, independently of sqlite3)."""
    return SQLITE_ROWS, sum(x % SQLITE_MOD for x in range(1, SQLITE_ROWS + 1))


# ---- memory ------------------------------------------------------------------

def parse_smaps_rollup(text):
    """/proc/PID/smaps_rollup -> {field: bytes} for the kB fields."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+) kB$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2)) * 1024
    return out


def parse_smaps(text):
    """/proc/PID/smaps -> list of mappings: {start, end, perms, path,
    fields: {name: bytes}}."""
    maps = []
    cur = None
    head = re.compile(r"([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$")
    for line in text.splitlines():
        m = head.match(line)
        if m:
            cur = {"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                   "perms": m.group(3), "path": m.group(4).strip(),
                   "fields": {}}
            maps.append(cur)
            continue
        f = re.match(r"(\w+):\s+(\d+) kB$", line.strip())
        if f and cur is not None:
            cur["fields"][f.group(1)] = int(f.group(2)) * 1024
    return maps


def guest_ram_mapping(maps, ram_bytes):
    """The VMM's guest RAM: the anonymous read-write mapping whose size is
    RAM_BYTES (minivmm maps all of guest RAM as one).  QEMU may round or split
    it; then the largest anonymous read-write mapping at least RAM_BYTES/2 is
    taken.  None when there is no such mapping."""
    anon = [m for m in maps if m["path"] == "" and m["perms"].startswith("rw")]
    exact = [m for m in anon if m["end"] - m["start"] == ram_bytes]
    if exact:
        return max(exact, key=lambda m: m["fields"].get("Rss", 0))
    big = [m for m in anon if m["end"] - m["start"] >= ram_bytes // 2]
    return max(big, key=lambda m: m["end"] - m["start"]) if big else None


def code_cache_rss(maps):
    """Resident bytes of a software emulator's translated-code buffer: QEMU
    TCG's is an anonymous read-write-execute mapping (tb-size).  minivmm has
    none (0)."""
    return sum(m["fields"].get("Rss", 0) for m in maps
               if m["path"] == "" and m["perms"].startswith("rwx"))


def memory_split(rollup, maps, ram_bytes):
    """Split a VMM process' memory into guest RAM touched and the VMM's own
    overhead.  Returns {rss, pss, guest_touched, guest_pss, vmm_overhead_rss,
    vmm_overhead_pss, code_cache, ksm} in bytes (guest_* None if no RAM
    mapping found).  code_cache (TCG's translations) is part of the
    overhead."""
    rss = rollup.get("Rss", 0)
    pss = rollup.get("Pss", 0)
    ram = guest_ram_mapping(maps, ram_bytes)
    out = {"rss": rss, "pss": pss, "guest_touched": None, "guest_pss": None,
           "vmm_overhead_rss": None, "vmm_overhead_pss": None,
           "code_cache": code_cache_rss(maps), "ksm": rollup.get("KSM")}
    if ram is not None:
        g_rss = ram["fields"].get("Rss", 0)
        g_pss = ram["fields"].get("Pss", 0)
        out.update(guest_touched=g_rss, guest_pss=g_pss,
                   vmm_overhead_rss=rss - g_rss, vmm_overhead_pss=pss - g_pss)
    return out


MEMINFO_EVERY_S = 2  # minivmm.meminfo=N: the app image's init reports


def parse_meminfo_line(console):
    """The guest's own view of its memory: the machine image prints one line
    'COMPARE-MEMINFO K=V ...' (tools/compare/machine/compare-meminfo), the
    app image's init 'minivmm-init: meminfo K=V ...' every few seconds
    (minivmm.meminfo=N on the kernel command line).  kB values from
    /proc/meminfo.  Returns {K: bytes} of the last such line, with 'Used' =
    MemTotal - MemAvailable added, or None."""
    last = None
    # Whole lines only: the last one may still be being written.
    for line in console.split("\n")[:-1]:
        m = find_ready_line(line, r"(?:\S+ )*(?:COMPARE-MEMINFO|"
                            r"minivmm-init: meminfo)((?: \w+=\d+)+)")
        if m:
            last = m
    if not last:
        return None
    vals = {k: int(v) * 1024 for k, v in re.findall(r"(\w+)=(\d+)",
                                                    last.group(1))}
    if "MemTotal" in vals and "MemAvailable" in vals:
        vals["Used"] = vals["MemTotal"] - vals["MemAvailable"]
    return vals


# ---- minivmm's and minivmm-image's own output --------------------------------

def parse_minivmm_stats(stderr):
    """Exit counters from minivmm --stats: {'io': n, 'mmio': n, 'intr': n,
    'other': n} plus 'first_run_ms', or None if the lines are not there."""
    m = re.search(r"minivmm stats: exits: io (\d+), mmio (\d+), intr (\d+), "
                  r"other (\d+)", stderr)
    if not m:
        return None
    out = dict(zip(("io", "mmio", "intr", "other"), map(int, m.groups())))
    f = re.search(r"minivmm stats: first KVM_RUN after ([\d.]+) ms wall", stderr)
    if f:
        out["first_run_ms"] = float(f.group(1))
    q = re.search(r"pvm quirks: fwait skipped (\d+), int3 injected (\d+)", stderr)
    if q:
        out["pvm_fwait_skipped"] = int(q.group(1))
        out["pvm_int3_injected"] = int(q.group(2))
    return out


def parse_inspect(text):
    """`minivmm-image inspect` -> {files, regular, symlinks, content_bytes,
    packages: sorted list of Debian packages the files come from}."""
    m = re.search(r"^total: (\d+) bytes in (\d+) files \((\d+) regular, "
                  r"(\d+) symlinks\)", text, re.M)
    if not m:
        raise ValueError("no 'total:' line in minivmm-image inspect output")
    pkgs = set()
    for line in text.splitlines():
        p = re.match(r"\s*\d+\s+([a-z0-9][a-z0-9.+-]+) \S+\s+/", line)
        if p:
            pkgs.add(p.group(1))
    return {"content_bytes": int(m.group(1)), "files": int(m.group(2)),
            "regular": int(m.group(3)), "symlinks": int(m.group(4)),
            "packages": sorted(pkgs)}


# ---- statistics --------------------------------------------------------------

def summarize(values):
    """Median and spread of a list of numbers (None entries are failures and
    are left out): {n, median, min, max, stdev}; all None when empty."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return {"n": 0, "median": None, "min": None, "max": None,
                "stdev": None}
    return {"n": len(v), "median": statistics.median(v), "min": v[0],
            "max": v[-1], "stdev": statistics.stdev(v) if len(v) > 1 else 0.0}


def ratio(a, b):
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---- result schema -----------------------------------------------------------

_NUM = (int, float)


def _check(errs, cond, what):
    if not cond:
        errs.append(what)


def validate_result(r):
    """Check one result object (a results/<app>-<kind>-<time>.json) against
    the schema.  Returns a list of what is wrong (empty when valid)."""
    errs = []
    if not isinstance(r, dict):
        return ["result is not an object"]
    _check(errs, r.get("schema") == SCHEMA, "schema is not %s" % SCHEMA)
    for k in ("app", "timestamp", "command"):
        _check(errs, isinstance(r.get(k), str) and r.get(k), "%s missing" % k)
    _check(errs, r.get("kind") in KINDS, "kind not one of %s" % (KINDS,))
    host = r.get("host")
    _check(errs, isinstance(host, dict), "host missing")
    if isinstance(host, dict):
        _check(errs, host.get("kvm") in ("pvm", "hardware", "none"),
               "host.kvm not pvm/hardware/none")
        _check(errs, isinstance(host.get("cpus"), int), "host.cpus missing")
    img = r.get("image")
    _check(errs, isinstance(img, dict), "image missing")
    if isinstance(img, dict):
        for k in ("apparent_bytes", "allocated_bytes", "files"):
            _check(errs, isinstance(img.get(k), int) and img.get(k) >= 0,
                   "image.%s not a non-negative integer" % k)
    vmms = r.get("vmms")
    _check(errs, isinstance(vmms, dict), "vmms missing")
    for name, v in (vmms or {}).items():
        where = "vmms.%s" % name
        _check(errs, name in VMMS, "%s: unknown VMM" % where)
        if not isinstance(v, dict):
            errs.append("%s not an object" % where)
            continue
        _check(errs, isinstance(v.get("timing_label"), str),
               "%s.timing_label missing" % where)
        runs = v.get("runs")
        _check(errs, isinstance(runs, list), "%s.runs not a list" % where)
        for i, run in enumerate(runs or []):
            _check(errs, isinstance(run, dict) and isinstance(run.get("ok"), bool),
                   "%s.runs[%d].ok missing" % (where, i))
            if isinstance(run, dict) and run.get("ok"):
                _check(errs, isinstance(run.get("ready_s"), _NUM),
                       "%s.runs[%d].ready_s missing" % (where, i))
        rd = v.get("ready_s")
        _check(errs, isinstance(rd, dict) and "median" in rd and "n" in rd,
               "%s.ready_s summary missing" % where)
        mem = v.get("memory")
        if mem is not None:
            for k in ("rss", "pss"):
                _check(errs, isinstance(mem.get(k), int),
                       "%s.memory.%s not an integer" % (where, k))
        ex = v.get("exits")
        if ex is not None:
            for k in ("io", "mmio", "intr", "other"):
                _check(errs, isinstance(ex.get(k), int),
                       "%s.exits.%s not an integer" % (where, k))
        d = v.get("density")
        if d is not None:
            for k in ("budget_bytes", "max_vms", "reached"):
                _check(errs, isinstance(d.get(k), int),
                       "%s.density.%s not an integer" % (where, k))
            _check(errs, isinstance(d.get("stop_reason"), str),
                   "%s.density.stop_reason missing" % where)
    return errs


# ---- report ------------------------------------------------------------------

def pick_vmm(res_m, res_a):
    """The VMM whose figures compare the two kinds: the first of VMMS for
    which both results have a successful boot."""
    for v in VMMS:
        a = (res_m or {}).get("vmms", {}).get(v)
        b = (res_a or {}).get("vmms", {}).get(v)
        if a and b and a["ready_s"]["n"] and b["ready_s"]["n"]:
            return v
    return None


def _mib(b):
    return "–" if b is None else "%.1f MiB" % (b / 1048576)


def _num(x, fmt="%.1f"):
    return "–" if x is None else fmt % x


def _x(r):
    return "–" if r is None else "%.1fx" % r


def _ready_cell(b):
    rd = b.get("ready_s") or {}
    if not rd.get("n"):
        runs = b.get("runs") or [{}]
        return "not ready: %s" % (runs[-1].get("error") or "?")
    return "%.1f s (%.1f–%.1f, n=%d)" % (rd["median"], rd["min"], rd["max"],
                                         rd["n"])


def _exits_cell(b):
    ex = b.get("exits")
    note = ""
    if not ex:
        # A boot that never got ready still counted its exits.
        ex = next((r["exits"] for r in reversed(b.get("runs") or [])
                   if r.get("exits")), None)
        note = " (until stopped)"
    if not ex:
        return "–"
    return "%d/%d/%d/%d%s" % (ex["io"], ex["mmio"], ex["intr"], ex["other"],
                              note)


def _density_cell(b):
    dn = b.get("density")
    if not dn:
        return "–"
    k = dn.get("ksm") or {}
    return "%s / %s" % (_reached(dn),
                        _reached(k) if k.get("available") else "–")


def _reached(d):
    """VMs reached, and why it stopped there unless the budget stopped it:
    '8 (cap)' when --max-vms did, so the budget would have held more."""
    why = d.get("stop_reason")
    if why == "budget":
        return "%d" % d["reached"]
    return "%d (%s)" % (d["reached"], "cap" if why == "max-vms" else why)


def markdown_table(results):
    """RESULTS: {app: {kind: result}}.  Returns the markdown report (str): a
    table of every figure, per application, VMM and kind, and a table of the
    app image's savings on the VMM where both kinds booted."""
    rows = ["| app | VMM (timing) | kind | image apparent | image allocated | "
            "files | ready: median (min–max, n) | RSS | PSS | guest RAM touched "
            "| VMM overhead (RSS) | guest-reported used | exits io/mmio/intr/other "
            "| VMs in budget: no KSM / KSM |", "|" + "---|" * 14]
    ratios = ["| app | VMM | image size (allocated) | files | time to ready | "
              "PSS per VM | guest RAM touched | VMs per budget, no KSM "
              "(app / machine) | VMs per budget, KSM (app / machine) |",
              "|" + "---|" * 9]
    for app in sorted(results):
        kinds = results[app]
        for v in VMMS:
            for kind in KINDS:
                r = kinds.get(kind)
                if not r or v not in r["vmms"]:
                    continue
                img, b = r["image"], r["vmms"][v]
                mem = b.get("memory") or {}
                gu = (mem.get("guest_reported") or {}).get("Used")
                rows.append("| %s | %s (%s) | %s | %s | %s | %d | %s | %s | %s "
                            "| %s | %s | %s | %s | %s |" % (
                                app, v, b["timing_label"], kind,
                                _mib(img["apparent_bytes"]),
                                _mib(img["allocated_bytes"]), img["files"],
                                _ready_cell(b), _mib(mem.get("rss")),
                                _mib(mem.get("pss")),
                                _mib(mem.get("guest_touched")),
                                _mib(mem.get("vmm_overhead_rss")), _mib(gu),
                                _exits_cell(b), _density_cell(b)))
        m, a = kinds.get("machine"), kinds.get("app")
        vmm = pick_vmm(m, a)
        if m and a:
            bm = (m["vmms"].get(vmm) or {}) if vmm else {}
            ba = (a["vmms"].get(vmm) or {}) if vmm else {}
            mm, ma = bm.get("memory") or {}, ba.get("memory") or {}
            dm, da = bm.get("density") or {}, ba.get("density") or {}
            km, ka = dm.get("ksm") or {}, da.get("ksm") or {}
            ratios.append("| %s | %s | %s smaller | %s fewer | %s faster | "
                          "%s less | %s less | %s / %s | %s / %s |" % (
                              app, vmm or "–",
                              _x(ratio(m["image"]["allocated_bytes"],
                                       a["image"]["allocated_bytes"])),
                              _x(ratio(m["image"]["files"], a["image"]["files"])),
                              _x(ratio((bm.get("ready_s") or {}).get("median"),
                                       (ba.get("ready_s") or {}).get("median"))),
                              _pct(mm.get("pss"), ma.get("pss")),
                              _pct(mm.get("guest_touched"), ma.get("guest_touched")),
                              _reached(da) if da else "–",
                              _reached(dm) if dm else "–",
                              _reached(ka) if ka.get("available") else "–",
                              _reached(km) if km.get("available") else "–"))
    return ("## Figures\n\n" + "\n".join(rows) +
            "\n\n## App image against machine image\n\n" + "\n".join(ratios) +
            "\n" + projection_table(results))


def minivmm_projection(res_m, res_a, budget_bytes):
    """Where minivmm could not boot both kinds (the machine image under PVM),
    a projection of minivmm's host memory per VM and VMs per budget, from
    measured parts: each kind's guest RAM (PSS of the guest RAM mapping) on
    the VMM that booted both, plus minivmm's own overhead (PSS outside guest
    RAM) measured where minivmm did boot.  Returns None when minivmm booted
    both kinds (then nothing needs projecting) or a part is missing; else
    {overhead_pss, overhead_from, check: {minivmm, other} guest RAM of the
    kind both VMMs booted, kinds: {kind: {guest_pss, pss, vms}}}."""
    vmm = pick_vmm(res_m, res_a)
    if vmm in (None, "minivmm") or not budget_bytes:
        return None
    booted = [(k, r) for k, r in (("app", res_a), ("machine", res_m))
              if r and ((r["vmms"].get("minivmm") or {}).get("memory") or {})
              .get("vmm_overhead_pss") is not None]
    if not booted:
        return None
    kind0, r0 = booted[0]
    m0 = r0["vmms"]["minivmm"]["memory"]
    out = {"overhead_pss": m0["vmm_overhead_pss"], "overhead_from": kind0,
           "compared_on": vmm,
           "check": {"kind": kind0, "minivmm": m0.get("guest_pss"),
                     "other": ((r0["vmms"].get(vmm) or {}).get("memory")
                               or {}).get("guest_pss")},
           "kinds": {}}
    for kind, r in (("machine", res_m), ("app", res_a)):
        g = (((r or {}).get("vmms", {}).get(vmm) or {}).get("memory")
             or {}).get("guest_pss")
        if g is None:
            return None
        pss = g + out["overhead_pss"]
        out["kinds"][kind] = {"guest_pss": g, "pss": pss,
                              "vms": int(budget_bytes // pss)}
    return out


def projection_table(results):
    """Markdown for minivmm_projection() over RESULTS ({app: {kind: r}}), or
    '' when nothing needed projecting."""
    rows = []
    for app in sorted(results):
        m, a = results[app].get("machine"), results[app].get("app")
        budget = ((m or a or {}).get("budgets") or {}).get("budget_mib", 0) << 20
        p = minivmm_projection(m, a, budget)
        if not p:
            continue
        km, ka = p["kinds"]["machine"], p["kinds"]["app"]
        rows.append("| %s | %s | %s image (its guest RAM: %s on minivmm, %s "
                    "on %s) | %s / %s | %s less | %d / %d |" % (
                        app, _mib(p["overhead_pss"]), p["overhead_from"],
                        _mib(p["check"]["minivmm"]),
                        _mib(p["check"]["other"]), p["compared_on"],
                        _mib(ka["pss"]), _mib(km["pss"]),
                        _pct(km["pss"], ka["pss"]), ka["vms"], km["vms"]))
    if not rows:
        return ""
    return ("\n## Projected for minivmm (computed from measured parts, not "
            "measured)\n\nPer-VM host memory = the guest RAM each kind touched "
            "on the VMM that booted both + minivmm's own overhead (PSS outside "
            "guest RAM) measured where minivmm booted; VMs per budget = "
            "budget / that, no KSM.\n\n"
            "| app | minivmm overhead (PSS) | measured on (check) | PSS per VM "
            "(app / machine) | saving | VMs per budget (app / machine) |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _pct(machine, app):
    if machine is None or app is None or machine == 0:
        return "–"
    return "%.0f%%" % (100.0 * (machine - app) / machine)


def dump(obj):
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"
