"""Drive pierd with Docker's Python SDK: run a detached container, wait
for it, read its logs, remove it, and check it is gone.

Usage: sdk_cycle.py SOCKET. Prints "SDK OK" last; exits non-zero on any
failure, naming the step that failed.
"""
import sys

import docker


def fail(step, detail):
    print("FAIL %s: %s" % (step, detail), file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage", "sdk_cycle.py SOCKET")
    client = docker.DockerClient(base_url="unix://" + sys.argv[1])
    version = client.version()
    if "ApiVersion" not in version:
        fail("version", "no ApiVersion in %r" % (version,))
    c = client.containers.run(
        "busybox",
        ["sh", "-c", "echo from-sdk; echo err >&2; exit 0"],
        detach=True,
        network_mode="none",
    )
    try:
        result = c.wait(timeout=30)
        if result.get("StatusCode") != 0:
            fail("wait", "result %r" % (result,))
        logs = c.logs(stdout=True, stderr=True)
        # stdout and stderr interleave in either order; both lines, nothing else.
        if sorted(logs.splitlines()) != [b"err", b"from-sdk"]:
            fail("logs", "got %r" % (logs,))
    except BaseException:
        # Leave no container behind for the Go test's checks to trip on.
        c.remove(force=True)
        raise
    c.remove()
    left = [x.id for x in client.containers.list(all=True) if x.id == c.id]
    if left:
        fail("list", "container %s still listed after remove" % c.id)
    client.close()
    print("SDK OK")


if __name__ == "__main__":
    main()
