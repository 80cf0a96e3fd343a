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


API_SCRIPT = """
import logging, sys
import rpu_tf.pipelines  # loads TensorFlow (its start-up notices filtered)
from rpu_tf.utils.progress import api_console
if sys.argv[1] == "configured":
    logging.basicConfig(level=logging.WARNING, format="PROGRAM %(message)s")
with api_console():  # what RPUVAE.run wraps its work in
    logging.getLogger("rpu_tf.rpu.algorithm").info("rPU-VAE initial: PBT-U-VAE (UDR) on 768 images.")
    logging.getLogger("rpu_tf.metrics.udr").warning("a warning")
logging.getLogger("rpu_tf.rpu.algorithm").info("after the call")
"""


def test_the_python_api_shows_its_progress_and_no_tensorflow_notices_unless_logging_is_configured():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = {case: subprocess.run([sys.executable, "-c", API_SCRIPT, case], capture_output=True, text=True,
                                 env={**env, "PYTHONPATH": ROOT}, timeout=300)
            for case in ("plain", "configured")}
    lines = [line for line in done["plain"].stderr.splitlines() if line.strip()]
    assert done["plain"].returncode == 0 and len(lines) == 2, done["plain"].stderr
    assert re.search(r" INFO rpu_tf.rpu.algorithm: rPU-VAE initial: PBT-U-VAE \(UDR\) on 768 images\.$", lines[0])
    assert lines[1].endswith(" WARNING rpu_tf.metrics.udr: a warning")  # nothing after the call, no notices
    # A program that configured logging keeps its own setup: its format, its level.
    assert done["configured"].stderr.splitlines() == ["PROGRAM a warning"], done["configured"].stderr
