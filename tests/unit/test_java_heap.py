"""The heap in use read from `jcmd <pid> GC.heap_info`, whatever the collector (LAKEHOUSE_JVM_GC): the outputs
below are JDK 17's, taken from JVMs started with each collector (a few figures changed, so that each generation
counts)."""

from __future__ import annotations

from lakehouse.core.java import heap_in_use

G1 = """ garbage-first heap   total 397312K, used 17946K [0x0000000687400000, 0x0000000800000000)
  region size 4096K, 4 young (16384K), 0 survivors (0K)
 Metaspace       used 8928K, committed 9088K, reserved 1114112K
  class space    used 1062K, committed 1152K, reserved 1048576K
"""

PARALLEL = """ PSYoungGen      total 113152K, used 19457K [0x0000000782700000, 0x000000078a500000, 0x0000000800000000)
  eden space 97280K, 20% used [0x0000000782700000,0x0000000783a00450,0x0000000788600000)
  from space 15872K, 0% used [0x0000000789580000,0x0000000789580000,0x000000078a500000)
  to   space 15872K, 0% used [0x0000000788600000,0x0000000788600000,0x0000000789580000)
 ParOldGen       total 258048K, used 461859K [0x0000000687400000, 0x0000000697000000, 0x0000000782700000)
  object space 258048K, 0% used [0x0000000687400000,0x0000000687400000,0x0000000697000000)
 Metaspace       used 8924K, committed 9088K, reserved 1114112K
  class space    used 1062K, committed 1152K, reserved 1048576K
"""

SERIAL = """ def new generation   total 116160K, used 20660K [0x0000000687400000, 0x000000068f200000)
  eden space 103296K,  20% used [0x0000000687400000, 0x000000068882d010, 0x000000068d8e0000)
 tenured generation   total 258048K, used 1000K [0x0000000704d50000, 0x0000000714950000, 0x0000000800000000)
   the space 258048K,   0% used [0x0000000704d50000, 0x0000000704d50000, 0x0000000704d50200, 0x0000000714950000)
 Metaspace       used 8926K, committed 9088K, reserved 1114112K
"""


def test_g1_gives_one_line_for_the_whole_heap_and_metaspace_is_not_counted():
    assert heap_in_use(G1) == 17946 * 1024


def test_the_parallel_and_serial_collectors_sum_their_generations():
    assert heap_in_use(PARALLEL) == (19457 + 461859) * 1024
    assert heap_in_use(SERIAL) == (20660 + 1000) * 1024


def test_an_output_without_a_heap_line_gives_none():
    assert heap_in_use("") is None
    assert heap_in_use(" Metaspace       used 8926K, committed 9088K, reserved 1114112K\n") is None
