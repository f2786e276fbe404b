# SPDX-License-Identifier: MIT
"""minivmm-compare's outputs besides the JSON: gnuplot plots (SVG and PNG)
and the markdown report."""

import os
import shlex
import shutil
import subprocess
import sys

import compare_lib as lib
from vms import log


PLOTS = [
    # name, title, y label, value(result, vmm)
    ("size", "Image size on disk (allocated)", "MiB",
     lambda r, v: r["image"]["allocated_bytes"] / 2**20),
    ("ready", "Time from VMM start to app ready (median)", "seconds",
     lambda r, v: (r["vmms"].get(v) or {}).get("ready_s", {}).get("median")),
    ("memory", "Host memory per VM once ready (PSS)", "MiB",
     lambda r, v: _get_mem(r, v, "pss")),
    ("guest-ram", "Guest RAM the VM touched once ready", "MiB",
     lambda r, v: _get_mem(r, v, "guest_touched")),
    ("density", "VMs ready within the memory budget (no KSM)", "VMs",
     lambda r, v: ((r["vmms"].get(v) or {}).get("density") or {}).get("reached")),
    ("density-ksm", "VMs ready within the memory budget (KSM on)", "VMs",
     lambda r, v: (((r["vmms"].get(v) or {}).get("density") or {}).get("ksm")
                   or {}).get("reached")),
]


def _get_mem(r, v, k):
    m = (r["vmms"].get(v) or {}).get("memory") or {}
    return None if m.get(k) is None else m[k] / 2**20


def plots(results, outdir, stamp):
    if not shutil.which("gnuplot"):
        log("gnuplot not found (apt-get install gnuplot-nox): no plots")
        return []
    made = []
    for name, title, ylabel, get in PLOTS:
        dat = os.path.join(outdir, "%s-%s.dat" % (name, stamp))
        rows = []
        labels = set()
        for app in sorted(results):
            m, a = results[app].get("machine"), results[app].get("app")
            v = lib.pick_vmm(m, a)
            vm = get(m, v) if m else None
            va = get(a, v) if a else None
            if vm is None and va is None:
                continue
            if name != "size":
                labels.add(v and (m or a)["vmms"][v]["timing_label"])
            rows.append('"%s" %s %s' % (app, "NaN" if vm is None else vm,
                                        "NaN" if va is None else va))
        if not rows:
            continue
        with open(dat, "w") as f:
            f.write("# app machine-image app-image\n" + "\n".join(rows) + "\n")
        sub = "; ".join(sorted(x for x in labels if x))
        for ext, term in (("svg", "svg size 640,400 dynamic font 'sans,11'"),
                          ("png", "pngcairo size 640,400 font 'sans,10'")):
            out = os.path.join(outdir, "%s-%s.%s" % (name, stamp, ext))
            gp = "\n".join([
                "set terminal " + term,
                "set output '%s'" % out,
                "set title \"%s%s\"" % (title, "\\n{/*0.8 " + sub + "}"
                                        if sub else ""),
                "set ylabel '%s'" % ylabel,
                "set style data histograms",
                "set style histogram clustered gap 1",
                "set style fill solid 0.8 border -1",
                "set boxwidth 0.9",
                "set yrange [0:*]",
                "set grid ytics",
                "set key below horizontal",
                "plot '%s' using 2:xtic(1) title 'machine image' lc rgb "
                "'#c0504d', '' using 3 title 'app image' lc rgb '#4f81bd'" % dat])
            subprocess.run(["gnuplot"], input=gp, text=True, check=True)
        made.append(os.path.join(outdir, "%s-%s.svg" % (name, stamp)))
    return made


def report(results, args, stamp, svgs, host, commands=None):
    commands = commands or [" ".join(shlex.quote(a) for a in sys.argv)]
    md = ["# minivmm-compare %s" % stamp, ""] + [
          "Command: `%s`" % c for c in commands] + ["",
          "Host: %s, %d CPUs, %.0f GiB, /dev/kvm: %s, kernel %s, THP %s" % (
              host["cpu_model"], host["cpus"], host["mem_bytes"] / 2**30,
              host["kvm"], host["kernel"], host["thp"]),
          "Guest: %s, %d MiB RAM; budget %d MiB, max %d VMs, %d run(s)" % (
              args.kernel, args.memory, args.budget, args.max_vms, args.runs),
          "", lib.markdown_table(results)]
    for svg in svgs:
        md.append("![%s](%s)" % (os.path.basename(svg), os.path.basename(svg)))
    path = os.path.join(args.out, "compare-%s.md" % stamp)
    with open(path, "w") as f:
        f.write("\n".join(md) + "\n")
    return path
