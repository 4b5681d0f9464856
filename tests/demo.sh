#!/usr/bin/env bash
# `make demo`: start a small Python+NumPy process, then look inside it from
# outside with ndspy, the way a person debugging it would.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
NDSPY=build/ndspy
ids=$(mktemp) script=$(mktemp --suffix=.py) cores=$(mktemp -d)
work=$(mktemp -d)
pid2=
trap 'kill "$pid" $pid2 2>/dev/null; rm -rf "$ids" "$script" "$cores" "$work"' EXIT

cat >"$script" <<'PY'
import sys, time
import numpy as np
x = np.array([1, 2, 3], dtype=np.int32)           # the notebook's first array
grid = np.arange(12.0).reshape(3, 4)
column = grid[:, 1]                               # a strided view of grid
people = np.array([("Ada", 36, 1.70), ("Alan", 41, 1.80)],
                  dtype=[("name", "U8"), ("age", "<i4"), ("height", ">f8")])
class Model:
    pass
model = Model()
model.weights = np.ones((256, 256), dtype=np.float32)
print(id(x), id(column), id(people))
def wait_for_work():
    time.sleep(600)
wait_for_work()
PY
"$PYTHON" -u "$script" >"$ids" &
pid=$!
for _ in $(seq 100); do [ -s "$ids" ] && break; sleep 0.05; done
read -r x column people <"$ids"

run() { echo "\$ $*"; "$@"; echo; }
echo "A Python process (pid $pid) holds some arrays; ndspy reads them from outside."
echo
run $NDSPY show "$pid" "$x"
run $NDSPY show "$pid" "$column"
run $NDSPY show "$pid" __main__.model.weights --data 10
echo "\$ $NDSPY list $pid --min-bytes 40    # every array of at least 40 bytes"
$NDSPY list "$pid" --min-bytes 40
echo
run $NDSPY show --json --data 2 "$pid" "$people"
run $NDSPY show "$pid" "$people" --save /tmp/ndspy-demo-people.npy --data 0
echo "\$ $PYTHON -c \"import numpy as np; print(repr(np.load('/tmp/ndspy-demo-people.npy')))\""
"$PYTHON" -c "import numpy as np; print(repr(np.load('/tmp/ndspy-demo-people.npy')))"
rm -f /tmp/ndspy-demo-people.npy
echo
run $NDSPY stacks "$pid"
echo "\$ gcore -o $cores/core $pid    # a core file answers the same questions"
gcore -o "$cores/core" "$pid" >/dev/null 2>&1
run $NDSPY list "$cores/core.$pid" --min-bytes 1000
run $NDSPY show "$cores/core.$pid" "$column"
echo "\$ $NDSPY why $pid $column    # what keeps the view alive"
$NDSPY why "$pid" "$column"
echo
run $NDSPY snapshot "$pid" -o "$cores/app.snap"
echo "\$ ls -s --block-size=K $cores/app.snap $cores/core.$pid"
ls -s --block-size=K "$cores/app.snap" "$cores/core.$pid"
echo
run $NDSPY show "$cores/app.snap" __main__.grid

# watch and audit: NumPy's buffers as they come and go, from eBPF probes
cat >"$work/train.py" <<'PY'
import numpy as np
def load():
    return np.zeros((1024, 1024))                  # 8 MiB
def normalize(a):
    return (a - a.mean()) / (a.std() + 1)          # temporaries, freed
batch = normalize(load())
PY
run $NDSPY watch --min-bytes 1000000 -- "$PYTHON" "$work/train.py"

cat >"$work/service.py" <<'PY'
import ctypes, signal, time
import numpy as np
def leak():                     # a C extension that forgets a buffer
    a = np.empty(3 << 20, dtype=np.uint8)
    words = (ctypes.c_uint32 * 24).from_address(id(a))
    at = [i for i in range(24) if words[i] == a.flags.num][-1]
    words[at] &= ~0x4           # OWNDATA cleared: nobody frees it now
def cache():                    # 16 MiB kept alive by an 80-byte view
    big = np.zeros(2 << 20)
    return big[3:13]
def work(*_):
    global head
    leak()
    head = cache()
signal.signal(signal.SIGUSR1, work)
print("ready", flush=True)
while True:
    time.sleep(1)
PY
"$PYTHON" "$work/service.py" >"$work/service.out" &
pid2=$!
for _ in $(seq 200); do [ -s "$work/service.out" ] && break; sleep 0.05; done
echo "\$ $NDSPY audit --duration 3 --folded $work/live.folded $pid2    # (it leaks and pins during the window)"
( sleep 1; kill -USR1 "$pid2" ) &
$NDSPY audit --duration 3 --folded "$work/live.folded" "$pid2"
echo
echo "\$ cat $work/live.folded    # --folded: live bytes by stack (also --pprof, --html)"
cat "$work/live.folded"
