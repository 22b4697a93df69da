"""Local mode of the code executor: one request on stdin, one response on stdout, then exit.

The grader (``reward_kit.code_executor.LocalExecutor``) starts this module as the first
process (PID 1) of fresh PID, network, mount, IPC and UTS namespaces, with a private tmpfs on
/tmp, as an unprivileged user (``setpriv`` to uid 65534 when the grader is root; the
capability-less root of a user namespace when it is not). Frames are ``<length>\\n<json>``
both ways: the length, not the end of the stream, ends a frame, so a copy of a pipe end held
by some other process can never make either side wait. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys

from code_sandbox.handler import PROTOCOL_VERSION, execute

MAX_REQUEST_BYTES = 64 * 1024 * 1024


def read_frame(fd: int) -> bytes:
    header = b""
    while not header.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte or len(header) > 20:
            raise ValueError("truncated frame header")
        header += byte
    size = int(header)
    if not 0 <= size <= MAX_REQUEST_BYTES:
        raise ValueError("frame too large")
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ValueError("truncated frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, data: bytes) -> None:
    view = memoryview(b"%d\n" % len(data) + data)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    try:
        request = json.loads(read_frame(0))
    except (ValueError, OSError) as exc:
        response = {"version": PROTOCOL_VERSION, "status": "invalid_request", "error": f"unreadable request: {exc}"}
    else:
        response = execute(request, sandboxed=True)
    write_frame(1, json.dumps(response).encode("utf-8", "surrogatepass"))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
