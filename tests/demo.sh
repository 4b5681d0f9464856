#!/usr/bin/env bash
# `make demo`: start a small Python+NumPy process, then look inside it from
# outside with ndspy, the way a person debugging it would.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
NDSPY=build/ndspy
ids=$(mktemp) script=$(mktemp --suffix=.py) cores=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$ids" "$script" "$cores"' EXIT

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
