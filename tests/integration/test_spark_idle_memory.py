"""The embedded profile's Spark gives back the memory it grew to once it is idle: a night's session
lives on while the marts build runs beside it, and the night's peak is the sum of both."""

import gc
import time

MB = 1024**2
GROWTH = 512 * MB
MOST_HELD = 40  # 64 MB buffers: 2.5 GB, within the driver's 4 GB beside what earlier tests left


def _committed_heap(jvm) -> int:
    return jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted()


def test_an_idle_embedded_driver_returns_its_grown_heap(spark):
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.gc()  # the heap as a collection leaves it, as an idle one will
    before = _committed_heap(jvm)
    # Held until the heap grows: what earlier tests left committed may hold a fixed amount already.
    held = jvm.java.util.ArrayList()
    while _committed_heap(jvm) < before + GROWTH and held.size() < MOST_HELD:
        held.add(jvm.java.nio.ByteBuffer.allocate(64 * MB))
    grown = _committed_heap(jvm)
    assert grown >= before + GROWTH, "the heap did not grow: the check would pass vacuously"
    del held  # py4j releases the Java list with its Python proxy
    gc.collect()

    deadline = time.monotonic() + 60
    while grown - _committed_heap(jvm) < GROWTH // 2 and time.monotonic() < deadline:
        time.sleep(1)

    assert grown - _committed_heap(jvm) >= GROWTH // 2
