"""A real SMTP server for the e-mail tests (aiosmtpd): every message it accepts is written to
DIR as one JSON file (envelope recipients, decoded subject, headers and plain-text body).

    python3 tests/tools/smtp_sink.py PORT DIR

It prints "ready" once it listens and stops when its standard input closes.
"""

import email
import email.policy
import json
import os
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        body = msg.get_body(("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt": list(envelope.rcpt_tos),
            "subject": str(msg["subject"] or ""),
            "headers": {k: str(v) for k, v in msg.items()},
            "body": body.get_content() if body is not None else "",
        }
        name = "%d-%s" % (time.time_ns(), uuid.uuid4().hex)
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(self.directory, name + ".json"))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
