"""Find the Java runtime Spark needs (17 is the tested version) and say clearly when it is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from lakehouse.core.errors import LakehouseError

SUPPORTED_MAJORS = (8, 11, 17)


class JavaError(LakehouseError):
    """Java is missing or too old/new for Spark 3.5."""


def java_executable() -> Path:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return candidate
        raise JavaError(f"JAVA_HOME={java_home} ne contient pas bin/java : corrigez JAVA_HOME ou retirez-le")
    found = shutil.which("java")
    if not found:
        raise JavaError(
            "Java introuvable : Spark 3.5 demande Java 17 (Debian/Ubuntu : apt-get install openjdk-17-jre-headless), "
            "puis relancez la commande ; ou définissez JAVA_HOME"
        )
    return Path(found)


def java_major_version(executable: Path | None = None) -> int:
    executable = executable or java_executable()
    result = subprocess.run([str(executable), "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or not match:
        raise JavaError(f"`{executable} -version` ne donne pas de version lisible : {result.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def check_java() -> str:
    """Return a description of the Java found; raise JavaError when Spark 3.5 cannot use it."""
    executable = java_executable()
    major = java_major_version(executable)
    if major not in SUPPORTED_MAJORS:
        raise JavaError(
            f"{executable} est Java {major} ; Spark 3.5 fonctionne avec Java 8, 11 ou 17 (17 recommandé). "
            "Installez openjdk-17 et pointez JAVA_HOME dessus."
        )
    return f"Java {major} ({executable})"


def jdk_tool(name: str) -> Path | None:
    """A JDK tool beside the Java in use (`jcmd`, ...), or None with a JRE only."""
    try:
        candidate = java_executable().resolve().parent / name
    except JavaError:
        return None
    return candidate if candidate.is_file() else None


def live_heap(pid: int) -> tuple[int, int] | None:
    """(bytes still in use after a full GC, maximum heap bytes) of a running JVM, through `jcmd`.

    None when `jcmd` is missing or the JVM does not answer. The full GC pauses the JVM for about
    a second on a 2 GB heap.
    """
    jcmd = jdk_tool("jcmd")
    if jcmd is None:
        return None

    def ask(command: str) -> str:
        result = subprocess.run([str(jcmd), str(pid), command], capture_output=True, text=True, timeout=60)
        return result.stdout if result.returncode == 0 else ""

    ask("GC.run")
    used = heap_in_use(ask("GC.heap_info"))
    maximum = re.search(r"MaxHeapSize=(\d+)", ask("VM.flags"))
    if used is None or not maximum:
        return None
    return used, int(maximum.group(1))


def heap_in_use(heap_info: str) -> int | None:
    """Bytes in use in the Java heap, from `jcmd <pid> GC.heap_info`: G1 prints one line for the whole heap
    (`garbage-first heap   total 524288K, used 51200K`), the parallel and serial collectors one per
    generation (`PSYoungGen      total 603136K, used 374786K`, `ParOldGen ...`), summed here. Metaspace, outside
    the heap, is not counted. None when the output has no such line."""
    used = [int(kilobytes) for kilobytes in re.findall(r"total \d+K, used (\d+)K", heap_info)]
    return sum(used) * 1024 if used else None
