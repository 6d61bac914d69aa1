#!/usr/bin/python3
"""Docker-vs-pier table from compat-docker-py.sh's junit files.

Usage: compat-docker-py-table.py OUTDIR (reads OUTDIR/docker.xml, pier.xml).
Prints markdown: counts, every test that passes on Docker and not on pier
with its cause (the first line of pytest's message), and the tests that do
not pass on Docker either, with a reason.
"""
import os
import sys
import xml.etree.ElementTree as ET

LEFT_OUT = [
    ("api_swarm_test, api_service_test, api_secret_test, api_config_test, "
     "models_swarm_test, models_services_test, models_nodes_test",
     "swarm: a private dockerd must not join or create a swarm on this shared machine"),
    ("api_plugin_test", "plugins: installed from Docker Hub (internet)"),
]


def results(path):
    """Map test id -> (outcome, message)."""
    res = {}
    if not os.path.exists(path):
        return None
    for tc in ET.parse(path).getroot().iter("testcase"):
        tid = tc.get("classname", "").replace("tests.integration.", "") + "::" + tc.get("name", "")
        outcome, msg = "passed", ""
        for kind in ("failure", "error", "skipped"):
            el = tc.find(kind)
            if el is not None:
                outcome = "skipped" if kind == "skipped" else "failed"
                msg = (el.get("message") or el.text or "").strip()
                break
        res[tid] = (outcome, first_line(msg))
    return res


def first_line(msg):
    for line in msg.splitlines():
        line = line.strip()
        if line:
            return line[:200].replace("|", "\\|")
    return ""


def known_limit(test, msg):
    """The pier limit a failure shows, when it is a known one."""
    if "/swarm/init" in msg:
        return "needs swarm mode (the test inits a swarm)"
    if "where 1 = len([b''])" in msg or ("_dockerfile" in test and "assert 1 ==" in msg):
        # start, then logs at once: on a busy machine `ls` has not
        # written yet (Docker fails these the same way under load).
        return "racy: reads a container's logs right after start"
    if test.endswith("ListContainersTest::test_list_containers"):
        return "racy: counts every container while an earlier test's are still going"
    if test.startswith("api_build_test") or "models_images_test.ImageCollectionTest::test_build" in test:
        return "classic builder (build issue)"
    if "CommitTest" in test:
        return "commit (build issue)"
    return ""


def reason_on_docker(msg):
    low = msg.lower()
    for key in ("pull", "registry", "hello-world", "dial tcp", "lookup ", "manifest unknown",
                "no such host", "timeout", "connection refused"):
        if key in low:
            return "needs the internet (a registry): " + msg
    return "fails on Docker too: " + msg


def main():
    out = sys.argv[1]
    docker = results(os.path.join(out, "docker.xml"))
    pier = results(os.path.join(out, "pier.xml"))
    count = lambda r, o: sum(1 for v in r.values() if v[0] == o) if r else 0
    print("| engine | passed | failed | skipped |")
    print("|---|---|---|---|")
    for name, r in (("Docker 20.10", docker), ("pier", pier)):
        if r is not None:
            print(f"| {name} | {count(r, 'passed')} | {count(r, 'failed')} | {count(r, 'skipped')} |")
    if docker is None or pier is None:
        return
    gap = sorted(t for t, v in docker.items() if v[0] == "passed" and pier.get(t, ("missing", ""))[0] != "passed")
    print(f"\n## Passed on Docker, not on pier: {len(gap)}\n")
    for t in gap:
        o, m = pier.get(t, ("missing", "not run"))
        why = known_limit(t, m)
        print(f"- `{t}` ({o}): {why + ': ' if why else ''}{m}")
    extra = sorted(t for t, v in pier.items() if v[0] == "passed" and docker.get(t, ("", ""))[0] != "passed")
    print(f"\n## Passed on pier, not on Docker: {len(extra)}\n")
    for t in extra:
        print(f"- `{t}`: Docker: {docker.get(t, ('', 'not run'))[1]}")
    rest = sorted(t for t, v in docker.items() if v[0] != "passed")
    print(f"\n## Not passing on Docker either: {len(rest)}\n")
    for t in rest:
        o, m = docker[t]
        why = ("skipped: " + m) if o == "skipped" else reason_on_docker(m)
        print(f"- `{t}` (pier: {pier.get(t, ('missing', ''))[0]}): {why}")
    print("\n## Left out on both engines\n")
    for files, why in LEFT_OUT:
        print(f"- {files}: {why}")


if __name__ == "__main__":
    main()
