"""The mall benchmark runs end to end on a small size and prints its ratios (no timing asserted)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_python_m_bench_mall_runs_and_prints_its_ratios(tmp_path):
    env = {**os.environ, "GOVDESK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "bench", "mall", "--orders", "2000", "--database", "sqlite"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for measure in ("(a) supervision sweep vs pandas", "(b) figures: rollups vs live aggregate",
                    "dashboard page, server time", "(c) order list: first page vs last"):
        assert measure in out, out
    assert out.count("x  ") >= 3  # the ratios
    # the sweep and its pandas peer find the same things
    ours = out.split("flags raised by the sweep: ")[1].splitlines()[0]
    peer = out.split("pandas found:")[1].splitlines()[0]
    assert ast.literal_eval(ours) == {k: v for k, v in ast.literal_eval(peer.strip()).items() if v}
