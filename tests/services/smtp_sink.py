#!/usr/bin/python3
"""SMTP sink for tests: a real SMTP server on loopback that stores every message it accepts.

Each accepted message becomes <dir>/<n>.eml (the raw DATA bytes, CRLF line ends as received)
and then <dir>/<n>.json ({"mail_from", "rcpt_tos", "peer"}). Both are written to a temporary
name and renamed, and the .json comes last, so a test polling the directory that sees <n>.json
can read both files whole.

Scripted failures, so retry and permanent classification can be tested against a real server:
  a recipient containing "fail4xx"      -> 451 4.3.0 try again        (at RCPT)
  a recipient containing "fail5xx"      -> 550 5.1.1 no such user     (at RCPT)
  a recipient containing "faildata4xx"  -> 451 4.3.0 try again later  (at the end of DATA)
  a recipient containing "faildata5xx"  -> 554 5.6.0 message refused  (at the end of DATA)
Failed messages are not stored.

Usage: /usr/bin/python3 tests/services/smtp_sink.py --host 127.0.0.1 --port 2525 --dir /tmp/mail
Runs until SIGTERM or SIGINT. Uses Debian's python3-aiosmtpd, hence /usr/bin/python3.
"""

import argparse
import json
import os
import signal
import threading

from aiosmtpd.controller import Controller


class SinkHandler:
    def __init__(self, directory):
        self._directory = directory
        self._lock = threading.Lock()
        # Continue numbering after files a previous run left, so nothing is overwritten.
        existing = [int(name.split(".")[0]) for name in os.listdir(directory)
                    if name.split(".")[0].isdigit()]
        self._next = max(existing, default=0) + 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "fail4xx" in address:
            return "451 4.3.0 try again"
        if "fail5xx" in address:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        recipients = " ".join(envelope.rcpt_tos)
        if "faildata4xx" in recipients:
            return "451 4.3.0 try again later"
        if "faildata5xx" in recipients:
            return "554 5.6.0 message refused"
        with self._lock:
            number = self._next
            self._next += 1
        peer = session.peer
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer),
        }
        self._write(f"{number}.eml", envelope.original_content or envelope.content or b"")
        self._write(f"{number}.json", json.dumps(meta).encode("utf-8"))
        return "250 2.0.0 OK: queued"

    def _write(self, name, data):
        final = os.path.join(self._directory, name)
        temporary = os.path.join(self._directory, f".{name}.tmp")
        with open(temporary, "wb") as out:
            out.write(data)
        os.rename(temporary, final)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(SinkHandler(args.dir), hostname=args.host, port=args.port,
                            enable_SMTPUTF8=True)
    controller.start()
    print(f"smtp_sink: listening on {args.host}:{args.port}, storing into {args.dir}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
