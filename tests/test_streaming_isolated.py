"""Runs tests/test_streaming.py in a fresh interpreter: its worker-process,
Ctrl-C and memory tests fork and send signals, which are only sound in a
process that the other tests (JAX's threads from the Keras comparisons) have
not touched."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_streaming_suite_in_a_fresh_interpreter():
    env = dict(os.environ, EMBER_STREAMING_CHILD="1")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                             os.path.join(HERE, "test_streaming.py")], env=env, capture_output=True, text=True,
                            timeout=1200, cwd=os.path.dirname(HERE))
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ (failed|error)", summary), summary
