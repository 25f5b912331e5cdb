"""The embedded profile's Spark listens on the loopback interface only: nothing on the network can reach
the driver, its block manager or a UI of a process that holds a night's identifiers."""

import os
from pathlib import Path

LISTEN = "0A"
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses (hex, as /proc/net shows them) of the sockets `pid` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                addresses.add(fields[1].split(":")[0])
    return addresses


def test_the_embedded_spark_driver_listens_on_loopback_only(spark):
    spark.range(10).count()  # executors and the block manager are up
    jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()

    addresses = _listening_addresses(jvm_pid)

    assert addresses, "the driver listens on no socket: the check would pass vacuously"
    assert addresses <= LOOPBACK
