#!/usr/bin/env python3
"""Summary of a run of BuildKit's Dockerfile frontend suite (go test2json).

Usage: compat-buildkit-summary.py RUN.json ENGINE VERSION

Counts the suite's leaf tests (TestIntegration/<test>/worker=.../...)
that passed, failed and were skipped, and groups the failures by cause:
each failure's first testify error (or its last log lines) is matched
against CAUSES, in order; the first match names the group. A failure no
pattern knows is listed under "unclassified" with its error, to be read.
"""
import collections
import json
import re
import sys

# (group, pattern on the failure's text). Order matters: the first match wins.
CAUSES = [
    ("needs internet: an image or a URL the local mirror does not have",
     r"docker\.io|registry-1|no such host|network is unreachable|dial tcp \S+:443|"
     r"failed to do request|lookup \S+ on|github\.com|ghcr\.io|"
     r"failed to resolve source metadata for (?!localhost)|tonistiigi/"),
    ("needs the real alpine (apk, musl, alpine's files)",
     r"apk: not found|apk add|/sbin/apk|alpine-release|ld-musl"),
    ("pier lacks the security.insecure entitlement (dockerd: daemon.json "
     "builder.Entitlements; pier never grants it)",
     r"granting entitlement security\.insecure is not allowed"),
    ("pier bug: ADD of an archive through an absolute symlink (moby/go-archive "
     "0.3.0; fixed by 0.3.3)", r"path escapes from parent"),
    ("sandbox timeout (the suite stops a sandbox after 5 minutes)",
     r"sandbox timeout reached|context deadline exceeded|panic: test timed out"),
    ("the daemon did not start or answer",
     r"dockerd did not start up|dockerd client api timed out|creating worker|"
     r"could not start daemon"),
]

# pier's failures whose text does not say why, with the cause found by
# reading them (BuildKit v0.35.1, December 2026). Checked before CAUSES; the error
# is still printed, so a new reason shows.
KNOWN = {
    "TestErrorsSourceMap": "pier bug: pier-buildkitd's gRPC server has no grpcerrors "
                           "interceptors, so typed errors (Dockerfile source maps, "
                           "subrequest errors) reach the client as plain text",
    "TestFrontendSubrequests": "pier bug: pier-buildkitd's gRPC server has no grpcerrors "
                               "interceptors, so typed errors (Dockerfile source maps, "
                               "subrequest errors) reach the client as plain text",
    "TestSSHFileDescriptorsClosed": "needs the real alpine (apk) and github.com",
}

# Only for ENGINE=docker: Debian's dockerd 20.10 serves BuildKit v0.8 with
# its built-in Dockerfile frontend of that time, older than the suite.
OLD_BUILDKIT = (
    "dockerd 20.10's BuildKit (v0.8) is older than the suite (its frontend, "
    "API or worker lacks the feature)",
    r"failed to solve with frontend|failed to create LLB definition|Unknown flag|"
    r"unsupported request|unknown method|requested experimental feature|"
    r"no local sources enabled|invalid reference format")

LEAF = re.compile(r"^TestIntegration/.+/worker=")


def failure_text(lines):
    """The testify error of a failed test, else its last lines."""
    text = "".join(lines)
    errs = re.findall(r"Error:\s+(.*?)(?:\n\s+Test:|\n\s+Messages:|\Z)", text, re.S)
    if errs:
        msg = " ".join(" ".join(e.split()) for e in errs[:2])
        # Drop the Go stack BuildKit's errors carry ("pkg.Func /path/x.go:12").
        return re.split(r"\s\S+\s+/\S+\.go:\d+", msg, maxsplit=1)[0]
    tail = [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("---")]
    return " ".join(tail[-3:])


def skip_text(test, lines):
    for l in lines:
        s = l.strip()
        if s and not s.startswith("=== ") and not s.startswith("---"):
            reason = re.sub(r"^\S+\.go:\d+:\s*", "", s)
            # dockerfile_test.go's clientFrontend.RequiresBuildctl skips
            # with no message: that test drives buildctl, which the
            # client frontend variant cannot.
            if reason:
                return reason
            if s.startswith("dockerfile_test.go:"):
                return s + " (no message: RequiresBuildctl, the client frontend cannot drive buildctl)"
            return s + " (no message)"
    return f"t.SkipNow() with no message ({test.split('/')[1]})"


def main():
    path, engine, version = sys.argv[1:4]
    out = collections.defaultdict(list)
    status = {}
    for raw in open(path, encoding="utf-8", errors="replace"):
        try:
            ev = json.loads(raw)
        except ValueError:
            continue
        t = ev.get("Test")
        if not t:
            continue
        if ev["Action"] == "output":
            out[t].append(ev["Output"])
        elif ev["Action"] in ("pass", "fail", "skip"):
            status[t] = ev["Action"]
    # A leaf with no verdict was cut off (the run's timeout, or a crash).
    leaves = {t for t in set(status) | set(out) if LEAF.match(t) and t.count("/") >= 2}
    leaves = {t for t in leaves if not any(o != t and o.startswith(t + "/") for o in leaves)}
    counts = collections.Counter(status.get(t, "unfinished") for t in leaves)
    groups = collections.defaultdict(list)
    skips = collections.defaultdict(list)
    for t in sorted(leaves):
        st = status.get(t, "unfinished")
        short = t[len("TestIntegration/"):]
        if st in ("fail", "unfinished"):
            text = failure_text(out[t]) if st == "fail" else "no verdict (run cut off)"
            base = t.split("/")[1]
            if engine == "pier" and base in KNOWN:
                groups[KNOWN[base]].append((short, text))
                continue
            causes = CAUSES + ([OLD_BUILDKIT] if engine == "docker" else [])
            for name, pat in causes:
                if re.search(pat, text):
                    groups[name].append((short, text))
                    break
            else:
                groups["unclassified"].append((short, text))
        elif st == "skip":
            skips[skip_text(t, out[t])].append(short)

    worker = next((p for t in leaves for p in t.split("/") if p.startswith("worker=")), "worker=?")
    print(f"# BuildKit {version} frontend/dockerfile suite against {engine} ({worker})\n")
    total = sum(counts.values())
    print(f"{total} tests: {counts['pass']} passed, {counts['fail']} failed, "
          f"{counts['skip']} skipped, {counts['unfinished']} unfinished\n")
    print("## Failures by cause\n")
    for name, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"### {name} ({len(items)})\n")
        for short, text in items:
            print(f"- `{short}`: {text[:400]}")
        print()
    print("## Skips by reason\n")
    for reason, items in sorted(skips.items(), key=lambda kv: -len(kv[1])):
        print(f"- {len(items)}× {reason[:200]}")


if __name__ == "__main__":
    main()
