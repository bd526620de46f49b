"""The project's Jupyter kernel: Python of `.venv`, with the lakehouse settings, installed by `make setup`.

The kernelspec goes under `<venv>/share/jupyter/kernels/` (Jupyter's `--sys-prefix` place), so that
JupyterLab, nbclient and the tests find it without touching the user's home folder. Notebooks name
it in their metadata (`uemoa-lakehouse`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KERNEL_NAME = "uemoa-lakehouse"
DISPLAY_NAME = "Lakehouse UEMOA (Python 3.11, .venv)"


def kernel_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def kernel_spec() -> dict:
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        # Spark's Python workers use the same interpreter as the kernel.
        "env": {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
        "metadata": {"debugger": True},
    }


def install_kernel() -> Path:
    """Write the kernelspec (idempotent); return its folder."""
    folder = kernel_dir()
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(kernel_spec(), indent=1, ensure_ascii=False) + "\n"
    target = folder / "kernel.json"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return folder
