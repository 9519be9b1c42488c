#!/usr/bin/env python3
# tools/paper's tables: reads OUT/measures.N (lines "time|NAME|SECONDS" and
# "layer|WORLD|FILES|BYTES" of examples/wordpress-php's PWAPT_PAPER_TIMES)
# for N = 1..RUNS, prints results.md (Tables III and IV beside the paper's
# numbers, the machine, how each figure was measured) and writes
# OUT/table3.dat for tools/paper-table3.gp.
#
#   paper-results.py OUT RUNS POSTS [AB_REQUESTS]
#
# Table V: lines "ab|WORLD|TRACE|MS|RPS|ROUND" (WORLD Root or ABChild, TRACE
# off, bpf or audit), in OUT/table5.dat for tools/paper-table5.gp.
import os
import platform
import statistics
import subprocess
import sys

out, runs, posts = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ab_requests = sys.argv[4] if len(sys.argv) > 4 else "?"

# The paper's numbers (Shinjo, Ishida, Wei: Tables III and IV).
TABLE3 = [  # (row, the paper's seconds, our measure's names, first found)
    ("wcreate WPUpdate Root", 0.85, ["wcreate WPUpdate Root"]),
    ("wcreate PHPUpdate Root", 0.85, ["wcreate PHPUpdate Root"]),
    ("wcreate WPTest WPUpdate PHPUpdate", 1.10, ["wcreate WPTest WPUpdate PHPUpdate"]),
    ("wmerge WPUpdate Root", 1.15, ["wmerge WPUpdate Root"]),
    # The example now merges PHPUpdate with --handover 80 (its time counts
    # the stand-in and apache2's restarts); older measures: plain, or
    # forced when dpkg's triggers/File conflicted.
    ("wmerge PHPUpdate Root", 1.20, ["wmerge --handover 80 PHPUpdate Root",
                                     "wmerge --force PHPUpdate Root", "wmerge PHPUpdate Root"]),
    ("wdiff WPUpdate Root", 0.04, ["wdiff WPUpdate Root"]),
    ("wdiff PHPUpdate Root", 0.05, ["wdiff PHPUpdate Root"]),
    ("wdelete WPTest", 0.03, ["wdelete WPTest"]),
]
TABLE4 = [("WPUpdate", 45, 1.9), ("PHPUpdate", 219, 87.5), ("WPTest", 30, 1.9)]
# Table V: (world, tracing) -> the paper's row (Aufs, Auditd: access time
# in ms, requests/s); both of pwapt's backends stand beside its Auditd.
PAPER5 = {("Root", False): ("-", "-", 231, 41.5), ("Root", True): ("-", "✓", 250, 38.5),
          ("ABChild", False): ("✓", "-", 231, 41.6), ("ABChild", True): ("✓", "✓", 258, 37.4)}
TRACES = ["off", "bpf", "audit"]

times, layers, forced, ab = {}, {}, 0, {}
for n in range(1, runs + 1):
    with open(os.path.join(out, "measures.%d" % n)) as f:
        names = set()
        for line in f:
            kind, *rest = line.rstrip("\n").split("|")
            if kind == "time":
                times.setdefault(rest[0], []).append(float(rest[1]))
                names.add(rest[0])
            elif kind == "ab":  # keyed by world, tracing; run and round kept
                rnd = rest[4] if len(rest) > 4 else "1"
                ab.setdefault((rest[0], rest[1]), []).append(
                    (float(rest[2]), float(rest[3]), (n, rnd)))
            elif kind == "layer":
                layers.setdefault(rest[0], []).append((int(rest[1]), int(rest[2])))
        forced += "wmerge --force PHPUpdate Root" in names


def cmd(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


mem_kib = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
debian = cmd("sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\"")
print("# The paper's measurements on this machine (`make paper`)\n")
print("Machine: %s, %d CPUs, %.1f GB of memory; Linux %s; %s; pwapt %s.  "
      "Root: a Debian bookworm tree (examples/wordpress-php) with the blog "
      "of %s posts of about 6,500 bytes; %d run(s) of the scenario.  "
      "The paper's: Intel Core i7 870, 4 cores, 32 GB, Linux 3.13 (Ubuntu "
      "14.04), LXC and Aufs, 1000 posts.\n"
      % (cpu(), os.cpu_count(), mem_kib / 1048576, platform.release(), debian,
         cmd("git", "describe", "--always", "--dirty"), posts, runs))

print("## The scenarios\n")
print("Each step of each scenario asserts its result (its log: "
      "build/paper/NAME.log).\n")
for log in ["derived-make.log", "unattended.log"] + \
        ["wordpress-php.%d.log" % n for n in range(1, runs + 1)]:
    try:
        with open(os.path.join(out, log)) as f:
            done = [l[3:].strip() for l in f if l.startswith("== ") and "steps passed" in l]
    except OSError:
        done = []
    line = done[-1].rstrip() if done else log[:-4] + ": (no summary)"
    if line.endswith("; left out (TODO):"):
        line = line[:-len("; left out (TODO):")]
    run = log[:-4].rpartition(".")[2]
    print("- examples/%s" % (line if not run.isdigit() else line + " (run %s)" % run))
print()

print("## Table III: execution times of world operations (seconds)\n")
print("Each command timed from its start to its exit (date +%s.%N around "
      "it) in each run of examples/wordpress-php, at the point of the "
      "paper's §II where it runs (its output to a file, not a terminal); "
      "the median of the runs, and the smallest and largest.\n")
print("| Operation | the paper | here: median | min–max |")
print("| --- | ---: | ---: | --- |")
with open(os.path.join(out, "table3.dat"), "w") as dat:
    dat.write("# operation paper here\n")
    for row, paper, names in TABLE3:
        got = next((times[n] for n in names if n in times), None)
        if not got:
            print("| %s | %.2f | (not measured) | |" % (row, paper))
            continue
        med = statistics.median(got)
        found = next(n for n in names if n in times)
        note = (" (forced†)" if found.startswith("wmerge --force") else
                " (--handover 80‡)" if found.startswith("wmerge --handover") else "")
        print("| %s%s | %.2f | %.2f | %.2f–%.2f |" % (row, note, paper, med, min(got), max(got)))
        dat.write('"%s" %.3f %.3f\n' % (row, paper, med))
if forced:
    print("\n† In %d of %d runs `wmerge PHPUpdate Root` refused: dpkg's "
          "/var/lib/dpkg/triggers/File, rewritten in Root by the first merge, "
          "conflicts (pwapt does not merge it record by record yet; the same "
          "lines in another order); the row is the forced merge's time."
          % (forced, runs))

if "wmerge --handover 80 PHPUpdate Root" in times:
    print("\n‡ With --handover 80: the merge, and a stand-in world that serves the "
          "blog while Root's apache2 stops and starts again on the new PHP (the "
          "paper's row is the merge alone, its restart by hand not counted).")
print("\n## Table IV: numbers of files and their total sizes\n")
print("The files (all but directories: whiteouts and symbolic links count) "
      "of each world's layers and their bytes, right before `wdelete "
      "WPTest` (WPTest with Root's database restored, MariaDB and apache2 "
      "running); the median of the runs.  MB is 10^6 bytes.  The paper's "
      "WPUpdate ran WordPress's own update script; here dpkg upgrades "
      "Debian's wordpress package, which rewrites every file of it, "
      "changed or not, into the world's layer.\n")
print("| World | the paper: files | MB | here: files | MB |")
print("| --- | ---: | ---: | ---: | ---: |")
for world, pfiles, pmb in TABLE4:
    got = layers.get(world)
    if not got:
        print("| %s | %d | %.1f | (not measured) | |" % (world, pfiles, pmb))
        continue
    files = statistics.median(g[0] for g in got)
    mb = statistics.median(g[1] for g in got) / 1e6
    print("| %s | %d | %.1f | %d | %.1f |" % (world, pfiles, pmb, files, mb))

print("\n## Table V: access times and throughputs of WordPress's front page\n")
print("`ab -l -n %s -c 10` (apache2-utils, in the scenario's network "
      "namespace, not in a world) against the front page of the blog (the "
      "newest 10 of its %s posts), at the end of each run of "
      "examples/wordpress-php, once Root runs the merged WordPress and PHP: "
      "in Root (a container on a plain directory: no overlay, the paper's "
      "root world without Aufs) and in ABChild, a child world of Root "
      "serving the same blog from its own apache2 and its own MariaDB "
      "(Root's database dumped and restored into it), every file it reads "
      "through the overlay (the paper's child world on Aufs).  Warm cache: "
      "each measure follows a warm-up of as many requests.  Tracing off, "
      "then with the collector of each backend started (`pwapt trace "
      "start`) before the measures and stopped after; the paper traced with "
      "Auditd.  Access time: ab's mean time per request across all "
      "concurrent requests (10 at a time), in ms; requests/s: ab's.  Every "
      "request must answer HTTP 200 (the run fails otherwise).  The "
      "modes are measured in rounds, each round all six.  The audit backend "
      "does not trace Root's container (it tells worlds apart by their "
      "overlay's device, and Root on a plain directory has none of its "
      "own), but its rules make the kernel audit every process's calls.  "
      "This machine's 2 CPUs are shared with other work and serve both the "
      "client and the server: its load, not pwapt, moves the absolute "
      "figures between rounds (see the ratio's range).\n"
      % (ab_requests, posts))
print("| World | Tracing | the paper (Aufs, Auditd): ms | req/s | ratio | here: ms | req/s | ratio | ratio min–max |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
# Root untraced's requests/s in each run and round: each measure's ratio
# is to the one taken in the same round.
base = {g[2]: g[1] for g in ab.get(("Root", "off"), [])}
rounds = len(base)
with open(os.path.join(out, "table5.dat"), "w") as dat:
    dat.write("# row paper_rps here_rps paper_ratio here_ratio\n")
    for world in ("Root", "ABChild"):
        for trace in TRACES:
            aufs, auditd, pms, prps = PAPER5[(world, trace != "off")]
            pratio = prps / PAPER5[("Root", False)][3]
            label = "%s, %s" % ("Root" if world == "Root" else "child",
                                "untraced" if trace == "off" else trace)
            got = ab.get((world, trace))
            if not got:
                print("| %s | %s | %d (%s, %s) | %.1f | %.2f | (not measured) | | | |"
                      % (world, trace, pms, aufs, auditd, prps, pratio))
                continue
            ms = statistics.median(g[0] for g in got)
            rps = statistics.median(g[1] for g in got)
            ratios = [g[1] / base[g[2]] for g in got if g[2] in base]
            ratio = statistics.median(ratios) if ratios else float("nan")
            span = "%.2f–%.2f" % (min(ratios), max(ratios)) if ratios else ""
            print("| %s | %s | %d (%s, %s) | %.1f | %.2f | %.0f | %.1f | %.2f | %s |"
                  % (world, trace, pms, aufs, auditd, prps, pratio, ms, rps, ratio, span))
            dat.write('"%s" %.1f %.2f %.3f %.3f\n' % (label, prps, rps, pratio, ratio))
print("\n%d round(s) in all (runs × rounds); ms and req/s are medians of "
      "every measure of the row, whose spread follows the machine's other "
      "load; the ratio is each measure's requests/s to Root untraced's of "
      "the same round (taken within about two minutes), its median and range."
      % rounds)
print("\nThe paper's Table V (Core i7 870, Ubuntu 14.04's WordPress): "
      "231 ms and 41.5 requests/s in the root world untraced, 250 and 38.5 "
      "traced by Auditd, 231 and 41.6 in a child world on Aufs untraced, "
      "258 and 37.4 traced: \"the overhead incurred by the worlds was less "
      "than 12%\".")
