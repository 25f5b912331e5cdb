"""The embedded profile's Spark gives back the memory it grew to once it is idle: a night's session
lives on while the marts build runs beside it, and the night's peak is the sum of both."""

import gc
import time

MB = 1024**2


def _committed_heap(jvm) -> int:
    return jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted()


def test_an_idle_embedded_driver_returns_its_grown_heap(spark):
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.gc()  # shrinks the heap the suite grew, so this test's growth shows
    before = _committed_heap(jvm)
    held = jvm.java.util.ArrayList()
    for _ in range(12):
        held.add(jvm.java.nio.ByteBuffer.allocate(64 * MB))
    grown = _committed_heap(jvm)
    assert grown >= before + 512 * MB, "the heap did not grow: the check would pass vacuously"
    del held  # py4j releases the Java list with its Python proxy
    gc.collect()

    deadline = time.monotonic() + 60
    while _committed_heap(jvm) > grown - 512 * MB and time.monotonic() < deadline:
        time.sleep(1)

    assert _committed_heap(jvm) <= grown - 512 * MB
