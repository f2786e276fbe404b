# SPDX-License-Identifier: MIT
"""Booting and measuring VMs for minivmm-compare: one VM under minivmm or
QEMU TCG, its readiness, its memory, repeated boots, and the density test
with and without KSM."""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import compare_lib as lib
from apps import APPS

QEMU_MAC = "52:54:00:12:34:56"  # QEMU's default; init finds eth0 by MAC
MACHINE_CMDLINE = "root=/dev/vda rw init=/lib/systemd/systemd"
# The app image's init reports the guest's memory every few seconds.
APP_CMDLINE = "minivmm.meminfo=%d" % lib.MEMINFO_EVERY_S
QEMU_TB_MIB = 32
PR_SET_THP_DISABLE = 41  # <linux/prctl.h>



def machine_cmdline(args):
    """The machine image's kernel command line, plus --machine-cmdline."""
    extra = getattr(args, "machine_cmdline", None)
    return MACHINE_CMDLINE + (" " + extra if extra else "")


T0 = time.monotonic()
LIVE = set()  # VMs started and not yet stopped, ended if the runner fails


def log(msg):
    t = int(time.monotonic() - T0)
    print("[%02d:%02d:%02d] %s" % (t // 3600, t // 60 % 60, t % 60, msg),
          file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VM:
    """A VM being booted: the VMM process, its console and stderr logs."""

    def __init__(self, app, kind, vmm, image, args, tag):
        self.app, self.kind, self.vmm, self.args = app, kind, vmm, args
        self.port = free_port() if APPS[app]["port"] else None
        self.tmp = tempfile.mkdtemp(prefix="%s-%s-" % (app, kind),
                                    dir=args.workdir)
        self.console_path = os.path.join(self.tmp, "console.log")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.image = image
        self.disk = image
        if kind == "machine":
            # Every machine VM boots its own copy of the gold image, as a
            # cloud would give each instance its own disk.
            self.disk = os.path.join(self.tmp, "disk.img")
            subprocess.run(["cp", "--sparse=always", image, self.disk],
                           check=True)
            drop_page_cache(self.disk)
        self.cmd = self._command()
        self.tag = tag
        self.proc = None
        self.last_reply = None
        self.t_start = self.t_ready = None

    def _command(self):
        a = self.args
        gport = APPS[self.app]["port"]
        if self.vmm == "minivmm":
            cmd = [os.path.join(a.build, "minivmm"), "--kernel", a.kernel,
                   "-m", "%dM" % a.memory, "--stats", "--quiet",
                   # A safety net only: the runner ends every VM itself,
                   # density VMs live for many boots' time.
                   "--timeout", "21600"]
            if self.kind == "machine":
                cmd += ["--disk", self.disk, "--cmdline",
                        machine_cmdline(a)]
            else:
                cmd += ["--app", self.disk, "--cmdline", APP_CMDLINE]
            cmd += ["-p", "%d:%d" % (self.port, gport)] if gport else \
                ["--net", "user"]
            return cmd
        # QEMU with software emulation (TCG), the same kernel and image.
        net = "user,id=n0" + (",hostfwd=tcp:127.0.0.1:%d-:%d" % (self.port, gport)
                              if gport else "")
        # tb-size caps TCG's translated-code buffer (default 1 GiB, and
        # THP-backed here), which is emulator overhead no KVM VMM has.
        cmd = ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,acpi=off",
               "-accel", "tcg,tb-size=%d" % QEMU_TB_MIB, "-cpu", "max",
               "-m", str(a.memory),
               "-nodefaults", "-no-user-config", "-nographic",
               "-serial", "stdio", "-no-reboot", "-kernel", a.kernel,
               "-netdev", net,
               "-device", "virtio-net-device,netdev=n0,mac=" + QEMU_MAC]
        # no_timer_check: on a loaded host TCG can be too slow for the
        # kernel's IO-APIC timer check, which then panics.
        append = "console=ttyS0 reboot=k panic=-1 quiet no_timer_check"
        if self.kind == "machine":
            cmd += ["-drive", "id=d0,file=%s,format=raw,if=none" % self.disk,
                    "-device", "virtio-blk-device,drive=d0"]
            append += " " + machine_cmdline(a)
        else:
            append += " " + APP_CMDLINE
            initrd = os.path.join(self.tmp, "initrd.cpio")
            w = [os.path.join(a.build, "minivmm"), "--quiet", "--app", self.disk,
                 "--mac", QEMU_MAC, "--write-initrd", initrd]
            w += ["-p", "%d:%d" % (self.port, gport)] if gport else \
                ["--net", "user"]
            subprocess.run(w, check=True)
            cmd += ["-initrd", initrd,
                    "-drive", "id=d0,file=%s,format=raw,if=none,readonly=on"
                    % self.disk, "-device", "virtio-blk-device,drive=d0"]
        return cmd + ["-append", append]

    def start(self):
        self.console = open(self.console_path, "wb")
        self.errf = open(self.stderr_path, "wb")
        self.t_start = time.monotonic()
        # stdin stays an open, silent pipe: the guest's console input.
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=self.console, stderr=self.errf,
                                     start_new_session=True,
                                     preexec_fn=_no_thp)
        LIVE.add(self)

    def console_text(self):
        with open(self.console_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def probe(self):
        """One readiness check; True when the application answered."""
        a = APPS[self.app]
        if a["probe"] == "line":
            m = lib.find_ready_line(self.console_text(), a["ready_re"])
            if m and (int(m.group(1)), int(m.group(2))) != lib.sqlite_expected():
                raise Fail("wrong result on the console: %s" % m.group(0))
            return m is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=5) as s:
                if a["probe"] == "redis":
                    s.sendall(b"PING\r\n")
                    self.last_reply = _recv_until(s, b"\r\n")
                    return lib.redis_reply_ok(self.last_reply)
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                          b"Connection: close\r\n\r\n")
                self.last_reply = _recv_until(s, None)
                return lib.http_reply_ok(self.last_reply, a["needle"])
        except OSError:
            return False

    def wait_ready(self, timeout):
        next_note = 60
        while True:
            if self.probe():
                self.t_ready = time.monotonic()
                return self.t_ready - self.t_start
            waited = time.monotonic() - self.t_start
            if self.proc.poll() is not None:
                raise Fail("the VMM exited with status %d before the app was "
                           "ready" % self.proc.returncode)
            if waited > timeout:
                last = self.last_reply[:60] if self.last_reply else None
                raise Fail("not ready after %d s%s" % (
                    timeout, "" if last is None else
                    " (last answer: %r)" % last))
            if waited > next_note:
                log("%s/%s: %s: still waiting, %d s (timeout %d s)" % (
                    self.app, self.kind, self.vmm, waited, timeout))
                next_note += 60
            time.sleep(0.5)

    def memory(self):
        pid = self.proc.pid
        with open("/proc/%d/smaps_rollup" % pid) as f:
            rollup = lib.parse_smaps_rollup(f.read())
        with open("/proc/%d/smaps" % pid) as f:
            maps = lib.parse_smaps(f.read())
        m = lib.memory_split(rollup, maps, self.args.memory << 20)
        m["image_page_cache"] = page_cache_bytes(self.disk)
        return m

    def stop(self):
        """SIGTERM (minivmm prints its --stats then); returns its stderr."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        LIVE.discard(self)
        if self.proc:
            self.proc.stdin.close()
            self.console.close()
            self.errf.close()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def cleanup(self, keep_logs_in=None):
        if keep_logs_in:
            os.makedirs(keep_logs_in, exist_ok=True)
            for p in (self.console_path, self.stderr_path):
                if os.path.exists(p):
                    shutil.copyfile(p, os.path.join(
                        keep_logs_in, "%s-%s-%s-%s-%s" % (
                            self.app, self.kind, self.vmm, self.tag,
                            os.path.basename(p))))
        shutil.rmtree(self.tmp, ignore_errors=True)


def _no_thp():
    """In the child, before exec: no transparent huge pages for the VMM.
    QEMU asks for them on guest RAM and on TCG's code buffer, which then
    count in 2 MiB steps; minivmm does not.  With this, both VMMs' memory is
    counted in 4 KiB pages, as the guest touches it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)


def _recv_until(s, end):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
        if end and end in data:
            return data


def drop_page_cache(path):
    """Write PATH out and drop it from the host's page cache, so that what is
    cached after a boot is what that boot read or wrote."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def page_cache_bytes(path):
    """Bytes of PATH in the host's page cache (util-linux fincore)."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings",
                              "--output", "RES", path],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def timing_label(vmm, host):
    if vmm == "qemu-tcg":
        return "QEMU TCG (software emulation)"
    return "PVM (guest kernel emulated)" if host["kvm"] == "pvm" else "native"


def boot_runs(app, kind, vmm, image, args, host):
    """--runs boots to ready; memory and exits measured in each.  Stops early
    after a failure on minivmm (the caller falls back)."""
    runs = []
    for i in range(args.runs):
        vm = VM(app, kind, vmm, image, args, "run%d" % (i + 1))
        drop_page_cache(vm.disk)
        log("%s/%s: boot %d/%d on %s (%s)" % (app, kind, i + 1, args.runs, vmm,
                                             timing_label(vmm, host)))
        run = {"ok": False, "ready_s": None, "error": None}
        try:
            vm.start()
            run["ready_s"] = vm.wait_ready(args.timeout)
            run["ok"] = True
            log("%s/%s: ready in %.1f s; settling %d s before measuring memory"
                % (app, kind, run["ready_s"], args.settle))
            time.sleep(args.settle)
            _wait_meminfo(vm, args.settle * 4)
            run["memory"] = vm.memory()
            run["memory"]["guest_reported"] = lib.parse_meminfo_line(
                vm.console_text())
            log("%s/%s: RSS %.1f MiB, PSS %.1f MiB, guest RAM touched %s MiB"
                % (app, kind, run["memory"]["rss"] / 2**20,
                   run["memory"]["pss"] / 2**20,
                   "?" if run["memory"]["guest_touched"] is None else
                   "%.1f" % (run["memory"]["guest_touched"] / 2**20)))
        except Fail as e:
            run["error"] = str(e)
            log("%s/%s: run %d on %s failed: %s" % (app, kind, i + 1, vmm, e))
        err = vm.stop()
        run["exits"] = lib.parse_minivmm_stats(err) if vmm == "minivmm" else None
        run["console_tail"] = vm.console_text()[-2000:]
        vm.cleanup(os.path.join(args.out, "logs"))
        runs.append(run)
        if not run["ok"] and vmm == "minivmm":
            break
    ok = [r for r in runs if r["ok"]]
    out = {"timing_label": timing_label(vmm, host), "runs": runs,
           "ready_s": lib.summarize([r["ready_s"] for r in runs])}
    if ok:
        mems = [r["memory"] for r in ok]
        out["memory"] = {k: _median_int([m.get(k) for m in mems])
                         for k in ("rss", "pss", "guest_touched", "guest_pss",
                                   "vmm_overhead_rss", "vmm_overhead_pss",
                                   "code_cache", "image_page_cache")}
        gr = [m["guest_reported"] for m in mems if m.get("guest_reported")]
        out["memory"]["guest_reported"] = gr[0] if gr else None
        out["memory"]["note"] = (
            "median over %d boot(s), measured %d s after ready; "
            "guest_reported: the guest's /proc/meminfo, %s" %
            (len(mems), args.settle,
             "printed once multi-user.target is reached" if kind == "machine"
             else "printed by minivmm's init every %d s, the last line before "
             "the host measured" % lib.MEMINFO_EVERY_S))
        ex = [r["exits"] for r in ok if r.get("exits")]
        out["exits"] = dict(ex[0], window="from start to ready + %d s, the "
                            "first successful boot" % args.settle) if ex else None
    else:
        out["memory"] = None
        out["exits"] = None
    return out


def _median_int(vals):
    v = [x for x in vals if x is not None]
    return int(lib.statistics.median(v)) if v else None


def _wait_meminfo(vm, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if lib.parse_meminfo_line(vm.console_text()):
            return
        time.sleep(1)


class KSM:
    """Turns KSM on for a while and puts the old settings back."""
    KEYS = ("run", "pages_to_scan", "sleep_millisecs")
    BASE = "/sys/kernel/mm/ksm/"

    def __init__(self):
        self.saved = {k: self._read(k) for k in self.KEYS}

    def _read(self, k):
        with open(self.BASE + k) as f:
            return f.read().strip()

    def _write(self, k, v):
        with open(self.BASE + k, "w") as f:
            f.write(str(v))

    def on(self):
        self._write("pages_to_scan", 4000)
        self._write("sleep_millisecs", 20)
        self._write("run", 1)

    def sharing(self):
        return int(self._read("pages_sharing")), int(self._read("pages_shared"))

    def settle(self, limit):
        """Wait until merging levels off (under 1% change in 10 s)."""
        end = time.monotonic() + limit
        last = -1
        while time.monotonic() < end:
            time.sleep(10)
            now = self.sharing()[0]
            if last >= 0 and abs(now - last) <= max(1, now // 100):
                break
            last = now
        return self.sharing()

    def restore(self):
        if self.saved["run"] == "0":
            self._write("run", 2)  # unmerge what was merged
        for k in ("pages_to_scan", "sleep_millisecs", "run"):
            self._write(k, self.saved[k])


def density(app, kind, vmm, image, args, host, est_pss):
    """Start VMs one after another while the sum of their PSS stays within
    the budget; then, where the host allows, turn KSM on and go on."""
    budget = args.budget << 20
    vms, used, out = [], 0, {
        "budget_bytes": budget, "max_vms": args.max_vms, "reached": 0,
        "stop_reason": "max-vms", "per_vm_pss": [], "ready_s": [],
        "used_pss_bytes": 0, "ksm": None,
        "accounting": "sum of the VMM processes' PSS after each VM is ready"}

    def total_pss():
        tot = 0
        for v in vms:
            with open("/proc/%d/smaps_rollup" % v.proc.pid) as f:
                tot += lib.parse_smaps_rollup(f.read()).get("Pss", 0)
        return tot

    def fill(phase, res):
        nonlocal used
        while len(vms) < args.max_vms:
            per_vm = used / len(vms) if vms else est_pss
            if used + per_vm > budget:
                res["stop_reason"] = "budget"
                return
            vm = VM(app, kind, vmm, image, args, "dens%d" % (len(vms) + 1))
            log("%s/%s: density (%s): VM %d, %.0f of %d MiB used" % (
                app, kind, phase, len(vms) + 1, used / 2**20, args.budget))
            vm.start()
            vms.append(vm)
            try:
                t = vm.wait_ready(args.timeout)
            except Fail as e:
                log("%s/%s: density: VM %d failed: %s" % (app, kind, len(vms), e))
                vm.stop()
                vm.cleanup(os.path.join(args.out, "logs"))
                vms.pop()
                res["stop_reason"] = "not ready: %s" % e
                return
            if phase == "ksm":
                time.sleep(min(args.settle, 10))
            used = total_pss()
            if used > budget:
                # This one no longer fits: it does not count.
                vm.stop()
                vm.cleanup()
                vms.pop()
                used = total_pss()
                res["stop_reason"] = "budget"
                return
            res["reached"] = len(vms)
            res["used_pss_bytes"] = used
            res["ready_s"].append(t)
        res["stop_reason"] = "max-vms"

    ksm = None
    try:
        fill("no KSM", out)
        out["per_vm_pss"] = [_pss(v) for v in vms]
        log("%s/%s: density: %d VMs ready within %d MiB (%s)" % (
            app, kind, out["reached"], args.budget, out["stop_reason"]))
        if host["ksm_available"] and not args.no_ksm and vms:
            ksm = KSM()
            ksm.on()
            log("%s/%s: density: KSM on, waiting for merging to level off" %
                (app, kind))
            sharing, shared = ksm.settle(args.ksm_settle)
            used = total_pss()
            k = {"available": True, "pages_sharing_at_start": sharing,
                 "pages_shared_at_start": shared,
                 "used_pss_bytes_at_start": used, "reached": len(vms),
                 "stop_reason": "max-vms", "used_pss_bytes": used,
                 "ready_s": []}
            fill("ksm", k)
            k["pages_sharing"], k["pages_shared"] = ksm.sharing()
            out["ksm"] = k
            log("%s/%s: density with KSM: %d VMs (%s)" % (
                app, kind, k["reached"], k["stop_reason"]))
        else:
            out["ksm"] = {"available": False,
                          "reason": "not writable" if not host["ksm_available"]
                          else "--no-ksm"}
    finally:
        for v in vms:
            v.stop()
            v.cleanup()
        if ksm:
            ksm.restore()
    return out


def _pss(vm):
    with open("/proc/%d/smaps_rollup" % vm.proc.pid) as f:
        return lib.parse_smaps_rollup(f.read()).get("Pss", 0)
