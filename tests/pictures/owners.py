"""A small process for the README's picture of `ndspy list --dot`: a base
and two views of it, arrays over a bytes object, an mmap and a memoryview."""
import mmap
import signal

import numpy as np

weights = np.arange(1 << 17, dtype=np.float64)   # 1 MiB, owns its data
head = weights[:1000]                             # two views of it
grid = weights.reshape(512, 256)[::2, ::2]
payload = bytes(range(256)) * 32
packets = np.frombuffer(payload, dtype=np.uint16)  # over a bytes object
region = mmap.mmap(-1, 1 << 16)
pages = np.frombuffer(region, dtype=np.int32)      # over an mmap
cache = {"tail": np.frombuffer(memoryview(region)[4096:], dtype=np.uint8)}
signal.pause()
