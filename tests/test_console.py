"""On a terminal, log lines never start in the middle of a progress bar (read from a pty)."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import logging, time
from rpu_tf.cli.flag_parsing import configure_logging
from rpu_tf.utils.progress import progress
configure_logging()
log = logging.getLogger("rpu_train")
bar = progress(total=6, desc="rpu_train", unit="step")
for step in range(6):
    bar.update(1)
    bar.set_postfix(loss=f"{100 - step}.5")
    log.info("Step %d/6; checkpoint saved.", step + 1)
    time.sleep(0.25)
bar.close()
"""

STAMP = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO rpu_train: Step")


def _through_a_terminal(script: str) -> bytes:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "PYTHONPATH": ROOT, "COLUMNS": "100"}, cwd=ROOT)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    return out


def test_log_lines_start_on_a_clean_line_while_a_bar_runs():
    out = _through_a_terminal(SCRIPT)
    starts = [m.start() for m in STAMP.finditer(out)]
    assert len(starts) == 6, out[-2000:]
    assert b"rpu_train:" in out and b"step" in out  # the bar was drawn
    for start in starts:  # each line starts after a newline or after the bar was cleared
        assert start == 0 or out[start - 1:start] in (b"\n", b"\r"), out[max(0, start - 120):start + 40]
