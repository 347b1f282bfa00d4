#!/usr/bin/env python3
"""docs/benchmarks.md from test/bench/benchmarks.md.in and docs/benchmarks/results/, and the
checks `make lint` runs on them (test/bench/all.sh calls this; see its header).

  page.py command NAME     the section's benchmark command (all.sh runs it)
  page.py paths NAME       the paths whose content the section measures, one a line
  page.py page OUT         writes the page
  page.py check [--fresh]  fails when docs/benchmarks.md is not what `page` writes, when a
                           results file is not what its raw data renders, when a plot is not
                           drawn from serving.json; --fresh also fails on any stale section

A section is *stale* when the content of what it measures (its paths, at the commit its stamp
names, and for the images section the commit each measured image was built from, its
org.opencontainers.image.revision label) differs from the working tree, or when it was measured
with uncommitted changes to them. The page says so under the section's heading, so a change to
the code makes `make lint` fail until the page admits it (`test/bench/all.sh --page`) or the
section is measured again (`test/bench/all.sh NAME`).
"""
import hashlib
import json
import pathlib
import re
import struct
import subprocess
import sys
import zlib

REPO = pathlib.Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs/benchmarks/results"
TEMPLATE = REPO / "test/bench/benchmarks.md.in"
PAGE = REPO / "docs/benchmarks.md"
PLOTS = REPO / "docs/benchmarks"

# What every binary is built from.
BINARIES = ["s2i", "crates", "Cargo.toml", "Cargo.lock"]
# What an image is built from (images/build and the binaries).
IMAGE_INPUTS = ["images"] + BINARIES

# name: (command, raw data file or None, render command or None, measured paths)
SECTIONS = {
    "init": (
        "test/bench/init.sh", "docs/benchmarks/results/init.json", "test/bench/init.sh --render {raw}",
        ["test/bench/init.sh"] + BINARIES,
    ),
    "startup": (
        "test/bench/serve.sh", None, None,
        ["test/bench/serve.sh", "test/bench/first_ok.py", "test/fixtures/run_wsgi_py", "test/fixtures/run_asgi",
         "test/setup/30-run-servers.sh"] + BINARIES,
    ),
    "serving": (
        "test/bench/serving.sh docs/benchmarks", "docs/benchmarks/serving.json",
        "python3 test/bench/serving.py --render {raw}",
        ["test/bench/serving.sh", "test/bench/serving.py", "test/fixtures/bench_django"] + BINARIES,
    ),
    "build": (
        "test/bench/build.sh", "docs/benchmarks/results/build.json", "test/bench/build.sh --render {raw}",
        ["test/bench/build.sh", "test/fixtures/assemble_bench_django", "test/setup/40-assemble.sh"] + BINARIES,
    ),
    "images": (
        "test/bench/images.sh", None, None,
        ["test/bench/images.sh", "test/fixtures/assemble_bench_django"] + IMAGE_INPUTS,
    ),
}


def git(*args):
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def read_stamp(name):
    path = RESULTS / (name + ".stamp")
    if not path.is_file():
        return None
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def known(commit):
    return git("cat-file", "-e", commit + "^{commit}").returncode == 0


def changed_since(commit, paths):
    """The files among PATHS whose content differs between COMMIT and the working tree, or
    None when COMMIT is not in this clone (a shallow one: cannot be judged here)."""
    if not known(commit):
        return None
    diff = git("diff", "--name-only", commit, "--", *paths)
    if diff.returncode != 0:
        sys.exit("page.py: git diff %s failed: %s" % (commit, diff.stderr.strip()))
    return diff.stdout.split()


def files_changed(name, files, commit):
    """The page's words (the same whatever changed later, so that later changes leave the page
    alone); the files go to stderr."""
    print("page.py: %s: changed since %s: %s" % (name, commit[:7], brief(files)), file=sys.stderr)
    return "what it measures (%s) changed since commit `%s`" % (
        ", ".join("`%s`" % p for p in SECTIONS[name][3]), commit[:7])


def brief(files):
    return " ".join(files[:8]) + (" and %d more" % (len(files) - 8) if len(files) > 8 else "")


def stamp_commit(stamp):
    return stamp.get("commit_full") or stamp["commit"].split()[0]


def staleness(name, stamp):
    """Why the section's figures are not the current code's, or []."""
    paths = SECTIONS[name][3]
    reasons = []
    commit = stamp_commit(stamp)
    if "uncommitted" in stamp["commit"] and "commit_full" not in stamp:
        reasons.append("it was measured with uncommitted changes")
    if stamp.get("dirty"):
        reasons.append("it was measured with uncommitted changes to " + stamp["dirty"])
    files = changed_since(commit, paths)
    if files:
        reasons.append(files_changed(name, files, commit))
    for key, value in sorted(stamp.items()):
        if not key.startswith("image "):
            continue
        image = key[len("image "):]
        if re.fullmatch(r"[0-9a-f]{40}\+uncommitted", value):
            reasons.append("image `%s` was built with uncommitted changes to commit `%s`" % (image, value[:7]))
            continue
        if not re.fullmatch(r"[0-9a-f]{40}", value):
            reasons.append("image `%s` names no commit it was built from (%s): rebuild it with `images/build`" % (image, value))
            continue
        files = changed_since(value, IMAGE_INPUTS)
        if files:
            print("page.py: image %s: changed since %s: %s" % (image, value[:7], brief(files)), file=sys.stderr)
            reasons.append("image `%s` was built from commit `%s`, and what images are built from changed since"
                           % (image, value[:7]))
    if name == "images" and not any(k.startswith("image ") for k in stamp):
        reasons.append("the images it measured are not recorded, so which code they held is unknown")
    raw = SECTIONS[name][1]
    if raw is not None and not (REPO / raw).is_file():
        reasons.append("its raw data (`%s`) is missing, so its figures cannot be checked" % raw)
    elif raw is not None and raw.endswith("serving.json") and not isinstance(json.loads((REPO / raw).read_text()), dict):
        reasons.append("its raw data is in the old format, without the failed configurations and the plots' digests")
    return reasons


def render_section(name):
    """What the section's raw data renders, or None when it keeps none (or an old format)."""
    _, raw, render, _ = SECTIONS[name]
    if raw is None or not (REPO / raw).is_file():
        return None
    out = subprocess.run(render.format(raw=raw), shell=True, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        return ("error", out.stderr.strip() or out.stdout.strip())
    return ("ok", out.stdout)


def section_body(name):
    stamp = read_stamp(name)
    table_file = RESULTS / (name + ".md")
    if stamp is None or not table_file.is_file():
        return None, "_Not measured yet: run `make bench`._"
    line = "_Measured {date} (run `{run}`), commit `{commit}`, {machine}; {seconds} s._".format(**stamp)
    if stamp.get("status") != "ok":
        line += "\n\n**This section failed in that run (" + stamp["status"] + "); the output below is what it printed.**"
    reasons = staleness(name, stamp)
    if reasons:
        why = "; ".join(reasons)
        line += ("\n\n**Stale: these figures are not the current code's.** " + why[0].upper() + why[1:] +
                 ". Rerun `test/bench/all.sh %s` (or `make bench`) on a quiet machine." % name)
    if SECTIONS[name][1] is None:
        line += ("\n\n_Its script prints the figures without keeping raw data, so `make lint` cannot "
                 "check them against their measurements._")
    text = table_file.read_text().strip()
    if not any(l.startswith("|") for l in text.splitlines()):
        text = "```text\n" + text + "\n```"  # a script's plain-text table, kept aligned
    else:
        text = re.sub(r"^(#+) ", r"\1# ", text, flags=re.M)  # its headings go under the section's
    return stamp, line + "\n\n" + text


def render_page():
    page = TEMPLATE.read_text()
    names = re.findall(r"^\{\{(\w+)\}\}$", page, flags=re.M)
    stamps = {}
    for name in names:
        stamp, body = section_body(name)
        if stamp:
            stamps[name] = stamp
        page = page.replace("{{%s}}" % name, body)
    runs = sorted({s["run"] for s in stamps.values()})
    missing = [n for n in names if n not in stamps]
    if not runs:
        summary = "No section has been measured with this generator yet: run `make bench`."
    elif len(runs) == 1 and not missing:
        summary = "Every section below comes from one run, `%s`." % runs[0]
    else:
        summary = "The sections below come from %d run(s) (%s)%s; each section says which." % (
            len(runs), ", ".join("`%s`" % r for r in runs),
            "; not measured yet: " + ", ".join(missing) if missing else "")
    return page.replace("{{runs}}", summary)


def png_text(path):
    """The tEXt chunks of a PNG file, checking each chunk's CRC."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, text = 8, {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError("corrupt %s chunk" % kind.decode())
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return text


def check_plots(problems):
    """Each serving plot names (tEXt python-s2i-data) the digest of the serving.json rows it
    drew: test/bench/serving.py computes both."""
    sys.path.insert(0, str(REPO / "test/bench"))
    import serving  # noqa: E402  (stdlib only at import time)

    data = json.loads((REPO / SECTIONS["serving"][1]).read_text())
    if not isinstance(data, dict):
        return  # the old format (a list, before plots were stamped): the section says it is stale
    for endpoint in serving.ENDPOINTS:
        path = PLOTS / ("serving-%s.png" % endpoint)
        want = serving.plot_digest(data["rows"], endpoint)
        try:
            got = png_text(path).get(serving.PLOT_KEY)
        except (OSError, ValueError) as e:
            problems.append("%s: %s" % (path.relative_to(REPO), e))
            continue
        if got != want:
            problems.append("%s was not drawn from %s (its data digest is %s, the rows give %s)" % (
                path.relative_to(REPO), SECTIONS["serving"][1], got, want))


def without_stale_banners(page):
    return re.sub(r"\n\n\*\*Stale: these figures are not the current code's\.\*\* [^\n]*", "", page)


def check(fresh):
    problems = []
    for name, (_, raw, _, _) in SECTIONS.items():
        rendered = render_section(name)
        if rendered is None:
            continue
        status, text = rendered
        table = (RESULTS / (name + ".md"))
        if status == "error":
            problems.append("%s: rendering %s failed: %s" % (name, raw, text))
        elif not table.is_file() or table.read_text().strip() != text.strip():
            problems.append("%s is not what its raw data %s renders (a hand edit, or a result without its data):\n%s" % (
                table.relative_to(REPO), raw, "".join(__import__("difflib").unified_diff(
                    table.read_text().splitlines(True) if table.is_file() else [], text.splitlines(True),
                    str(table.relative_to(REPO)), "rendered from " + raw))))
    if (REPO / SECTIONS["serving"][1]).is_file():
        check_plots(problems)
    for name in SECTIONS:
        stamp = read_stamp(name)
        if stamp and not known(stamp_commit(stamp)):
            print("page.py: %s's commit %s is not in this clone: its staleness is not checked here" % (name, stamp["commit"]), file=sys.stderr)
        if fresh and stamp and staleness(name, stamp):
            problems.append("%s is stale: %s" % (name, "; ".join(staleness(name, stamp))))
    page = render_page()
    committed = PAGE.read_text() if PAGE.is_file() else None
    if committed is not None and any(s and not known(stamp_commit(s)) for s in map(read_stamp, SECTIONS)):
        # A shallow clone cannot tell which sections are stale: the banners are left out of the
        # comparison there, and everything else is still checked.
        page, committed = without_stale_banners(page), without_stale_banners(committed)
    if committed is None or committed != page:
        import difflib
        sys.stderr.writelines(difflib.unified_diff(
            committed.splitlines(True) if committed is not None else [], page.splitlines(True),
            "docs/benchmarks.md", "what test/bench/all.sh --page writes"))
        problems.append("docs/benchmarks.md is not what test/bench/all.sh --page writes from %s and the code's "
                        "history (a hand edit, results without their page, or a section gone stale: "
                        "rerun the benchmark, or `test/bench/all.sh --page` to mark it stale)" % RESULTS.relative_to(REPO))
    for p in problems:
        print("all.sh --check: " + p, file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    if argv[:1] == ["command"]:
        print(SECTIONS[argv[1]][0])
    elif argv[:1] == ["raw"]:
        print(SECTIONS[argv[1]][1] or "")
    elif argv[:1] == ["paths"]:
        print("\n".join(SECTIONS[argv[1]][3]))
    elif argv[:1] == ["names"]:
        print(" ".join(SECTIONS))
    elif argv[:1] == ["page"]:
        pathlib.Path(argv[1]).write_text(render_page())
    elif argv[:1] == ["check"]:
        return check("--fresh" in argv)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
