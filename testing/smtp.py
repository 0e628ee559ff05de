"""A real SMTP server process (aiosmtpd) writing what it receives to a Maildir, for the digest tests."""

from __future__ import annotations

import email
import email.policy
import mailbox
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from testing.processes import free_port, stop_process, wait_for_port


class SMTPServer:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}"),
                *("-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)),
            ]
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, parsed from the bytes that crossed the socket."""
        box = mailbox.Maildir(self.maildir, create=False)
        parsed = []
        for key in box.iterkeys():
            raw = box.get_bytes(key)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed
