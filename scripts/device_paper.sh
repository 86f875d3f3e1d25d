#!/usr/bin/env bash
# One-shot paper-profile run on a lent GPU machine, from the repo root, with .whl/ carried along (made here by
# scripts/fetch_device_wheels.sh): installs the wheels into /tmp/site, benchmarks stacked training, runs
# `grokbook reproduce --profile paper` inside a time budget (resumable: finished claims are skipped next time),
# and ALWAYS packs into $OUT: results.tar.gz (what this run wrote: book/*/*.ipynb + .ledger.json of finished claims,
# benchmarks/results/*.json, the log, unfinished notebooks under build/device/incomplete/), the log as a plain file,
# and runcache.tar.gz when the run cache fits in 15 MiB. Unpack here with scripts/device_unpack.sh.
#
#   bash scripts/device_paper.sh              # on the GPU machine ($OUT set by the run tool)
#   DRY=1 bash scripts/device_paper.sh        # here: the same sequence on CPU with tiny settings, all under a
#                                             # temp dir (book/, benchmarks/results/ and .cache/ untouched)
# Knobs (environment; seconds counted from the script's start):
#   BUDGET_S=555           the whole script, packing included (the run tool stops a command at 600 s)
#   PACK_RESERVE_S=45      kept free for packing when reproduce is cut
#   BENCH_BUDGET_S=300     benchmark (stacked, sequential, papers' loop and compiled, R = 1, 8, 32, 128)
#   RUN_BENCH=1 RUN_REPRODUCE=1 PACK_CACHE=1
#   BENCH_ARGS, REPRODUCE_ARGS ("--profile paper"), DRY_CLAIM (power.weight-decay-most-effective), DRY_RUN_ARGS
# Exit status: 0 when every step that ran succeeded, else the first failing step's status (124: time budget).
set -uo pipefail    # no -e: a failing step must not skip the next ones, and packing always runs
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$SECONDS
DRY=${DRY:-0}
elapsed() { echo $((SECONDS - START)); }
within() {   # within SECONDS: SECONDS, or less if the budget (packing reserve kept) ends sooner
  local left=$((BUDGET_S - PACK_RESERVE_S - $(elapsed)))
  echo $(($1 < left ? $1 : left))
}

if [ "$DRY" = 1 ]; then
  WORK=$(mktemp -d /tmp/device-dry.XXXXXX)
  OUT=${OUT:-$WORK/out}
  PY=${PY:-$([ -x .venv/bin/python ] && echo "$ROOT/.venv/bin/python" || echo python3)}
  SITE=$WORK/site                                  # the wheels that load here (not the cp312 builds)
  RES_ROOT=$WORK/results                           # book/ and benchmarks/results/ of this run
  export GROKBOOK_CACHE=$WORK/cache HOME=$WORK/home OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  BENCH_ARGS=${BENCH_ARGS:---device cpu --scale smoke --runs 1 2 --steps 5 --reference}
  BUDGET_S=${BUDGET_S:-900}
else
  if [ -z "${OUT:-}" ]; then echo "error: \$OUT is not set (the run tool sets it; DRY=1 runs here)" >&2; exit 2; fi
  WORK=$(mktemp -d /tmp/device-run.XXXXXX)
  PY=${PY:-python3}
  SITE=${SITE:-/tmp/site}
  RES_ROOT=$ROOT
  BENCH_ARGS=${BENCH_ARGS:---device cuda --scale paper --runs 1 8 32 128 --steps 200 --reference --compile}
fi
BUDGET_S=${BUDGET_S:-555}
PACK_RESERVE_S=${PACK_RESERVE_S:-45}
BENCH_BUDGET_S=${BENCH_BUDGET_S:-300}
RUN_BENCH=${RUN_BENCH:-1}
RUN_REPRODUCE=${RUN_REPRODUCE:-1}
PACK_CACHE=${PACK_CACHE:-1}
REPRODUCE_ARGS=${REPRODUCE_ARGS:---profile paper}
DRY_CLAIM=${DRY_CLAIM:-power.weight-decay-most-effective}
DRY_RUN_ARGS=${DRY_RUN_ARGS:-}
BENCH_OUT=$RES_ROOT/benchmarks/results
CACHE_DIR=${GROKBOOK_CACHE:-$ROOT/.cache/runs}
MAX_FILE=$((15 * 1024 * 1024))                     # the run tool brings back files of at most 16 MiB

mkdir -p "$OUT" "$BENCH_OUT"
LOG=$OUT/device_paper.log
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1
export PYTHONPATH="$SITE:$ROOT/lib${PYTHONPATH:+:$PYTHONPATH}"
# the kernel papermill starts ("python3") is our interpreter via a kernelspec in a private JUPYTER_PATH, and all
# jupyter/ipython state lives under $WORK (the kernels inherit this environment, PYTHONPATH included)
export JUPYTER_PATH=$WORK/jupyter/share/jupyter JUPYTER_DATA_DIR=$WORK/jupyter-data \
       JUPYTER_CONFIG_DIR=$WORK/jupyter-config JUPYTER_RUNTIME_DIR=$WORK/jupyter-runtime \
       IPYTHONDIR=$WORK/ipython JUPYTER_PLATFORM_DIRS=1
declare -a STEPS=()
FIRST_RC=0
record() {   # record NAME RC
  STEPS+=("$1=$2")
  if [ "$2" != 0 ] && [ "$FIRST_RC" = 0 ]; then FIRST_RC=$2; fi
}

kill_our_kernels() {   # kernels start in their own session, so timeout's signal does not reach them
  local pids
  pids=$(pgrep -f -- "$JUPYTER_RUNTIME_DIR/kernel-" || true)
  if [ -n "$pids" ]; then echo "stopping leftover kernels: $pids"; kill $pids 2>/dev/null; sleep 2; kill -9 $pids 2>/dev/null; fi
  return 0
}

put() {   # put FILE: keep a file of $OUT under the 16 MiB limit, splitting it into FILE.partNN if needed
  local f=$1
  if [ "$(stat -c %s "$f")" -gt "$MAX_FILE" ]; then
    split -b "$MAX_FILE" -d -a 2 "$f" "$f.part" && rm -f "$f"
    echo "split $(basename "$f") into $(ls "$f".part* | wc -l) parts (cat them back together; device_unpack.sh does)"
  fi
}

pack() {
  [ -n "${PACKED:-}" ] && return 0
  PACKED=1
  set +e
  trap '' TERM INT HUP
  echo "== pack ($(elapsed) s)"
  echo "steps: ${STEPS[*]:-none}; $(elapsed) s before packing"
  kill_our_kernels
  shopt -s nullglob
  local stage=$WORK/stage
  rm -rf "$stage"
  mkdir -p "$stage/build/device" "$stage/book" "$stage/benchmarks/results"
  # what this run wrote: finished claims (notebook + ledger stamped by the CLI) go to book/; a notebook cut short
  # or failed (no stamped ledger) goes to build/device/incomplete/ instead, so it never replaces a committed page
  local f led n_done=0 n_inc=0
  (cd "$RES_ROOT" && for f in book/*/*.ipynb; do
     [ "$f" -nt "$WORK/started" ] || continue
     led=${f%.ipynb}.ledger.json
     if [ -f "$led" ] && [ "$led" -nt "$WORK/started" ] && grep -q '"source_digest"' "$led"; then
       cp --parents "$f" "$led" "$stage/"
     else
       mkdir -p "$stage/build/device/incomplete"
       cp --parents "$f" "$stage/build/device/incomplete/"
       [ -f "$led" ] && [ "$led" -nt "$WORK/started" ] && cp --parents "$led" "$stage/build/device/incomplete/"
     fi
   done
   for f in benchmarks/results/*.json; do [ "$f" -nt "$WORK/started" ] && cp --parents "$f" "$stage/"; done)
  n_done=$(cd "$stage" && find book -name '*.ledger.json' | wc -l)
  n_inc=$(cd "$stage" && find build/device -name '*.ipynb' | wc -l)
  echo "packing $n_done finished claim(s), $n_inc incomplete notebook(s) (-> build/device/incomplete/)," \
       "$(cd "$stage" && find benchmarks -type f | wc -l) benchmark file(s)"
  (cd "$stage" && find book benchmarks build -type f | sort | sed 's/^/  /')
  cp "$LOG" "$stage/build/device/device_paper.log"
  tar czf "$OUT/results.tar.gz" -C "$stage" book benchmarks build && put "$OUT/results.tar.gz"
  # the run cache (whole, else its resumable checkpoints) lets a later call resume: carry .cache/runs there.
  # Its arrays barely compress (7 MiB -> 5.8 MiB measured), so only a cache of <= 40 MiB is worth trying
  if [ "$PACK_CACHE" = 1 ] && [ -n "$(find "$CACHE_DIR" -type f ! -path '*/locks/*' 2>/dev/null | head -1)" ]; then
    local what=. mb
    mb=$(du -sm "$CACHE_DIR" | cut -f1)
    if [ "$mb" -gt 40 ]; then what=partial; mb=$(du -sm "$CACHE_DIR/partial" 2>/dev/null | cut -f1); fi
    if [ -n "$mb" ] && [ "$mb" -le 40 ] && [ -e "$CACHE_DIR/$what" ]; then
      tar czf "$OUT/runcache.tar.gz" -C "$CACHE_DIR" --exclude=locks "$what"
      if [ "$(stat -c %s "$OUT/runcache.tar.gz")" -gt "$MAX_FILE" ]; then
        echo "run cache ($what, ${mb} MiB) packs to over 15 MiB: not brought back"; rm -f "$OUT/runcache.tar.gz"
      else echo "run cache ($what, ${mb} MiB) -> runcache.tar.gz"; fi
    else echo "run cache too large to bring back (${mb:-?} MiB): not packed"; fi
  fi
  ls -l "$OUT"
  echo "packed; total $(elapsed) s"
}
on_exit() {
  local rc=$?
  pack
  [ "$rc" = 0 ] && rc=$FIRST_RC
  echo "exit status $rc"
  sleep 0.5           # let tee write the last lines into $OUT/device_paper.log
  exit "$rc"
}
on_signal() {   # on_signal NAME STATUS: stop the running step (timeout forwards SIGINT to it), then exit -> pack
  echo "stopped by $1 at $(elapsed) s"
  if [ -n "${CHILD:-}" ]; then
    kill -INT "$CHILD" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$CHILD" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$CHILD" "$CHILD" 2>/dev/null
  fi
  exit "$2"
}
trap on_exit EXIT
trap 'on_signal SIGTERM 143' TERM
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGHUP 129' HUP
CHILD=
run_limited() {   # run_limited SECONDS CMD...: CMD's status, 124 when cut at SECONDS (SIGINT, SIGKILL 20 s later).
  # In the background + wait, so that a signal to this script is handled at once (and passed on) rather than
  # after the step ends
  timeout -s INT -k 20 "$1" "${@:2}" </dev/null &
  CHILD=$!
  wait "$CHILD"
  local rc=$?
  CHILD=
  return $rc
}
touch "$WORK/started"

echo "== device_paper.sh $([ "$DRY" = 1 ] && echo "DRY (CPU, tiny settings)" || echo "paper profile"): $(date -u +%FT%TZ)"
echo "root $ROOT, work $WORK, out $OUT, python $PY, budget ${BUDGET_S}s (reserve ${PACK_RESERVE_S}s)"

echo "== install the wheels of scripts/device_wheels.txt into $SITE"
HAVE_PAPERMILL=1
missing=$("$PY" - <<'EOF'
import re
from pathlib import Path
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
have = {(norm(w.name.split("-")[0]), w.name.split("-")[1]) for w in Path(".whl").glob("*.whl")}
want = [l.split("#")[0].strip() for l in Path("scripts/device_wheels.txt").read_text().splitlines()]
print(" ".join(w for w in want if w and (norm(w.split("==")[0]), w.split("==")[1]) not in have))
EOF
)
if [ ! -d .whl ] || [ -n "$missing" ]; then
  echo "error: .whl/ lacks ${missing:-every wheel}: run scripts/fetch_device_wheels.sh here and carry [\".whl\"]"
  HAVE_PAPERMILL=0; record wheels 3
else
  wheels=(.whl/*.whl)
  if [ "$DRY" = 1 ]; then   # only the wheels this interpreter can load (cp312 builds cannot load on 3.11)
    # shellcheck disable=SC2207
    wheels=($("$PY" -c 'import sys
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename
ok = set(sys_tags())
print(" ".join(w for w in sys.argv[1:] if parse_wheel_filename(w.rsplit("/", 1)[-1])[3] & ok))' "${wheels[@]}"))
  fi
  PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"
  rc=$?; record wheels $rc; [ $rc = 0 ] || HAVE_PAPERMILL=0
  echo "installed ${#wheels[@]} wheels (rc $rc, $(elapsed) s)"
fi
if [ "$HAVE_PAPERMILL" = 1 ]; then
  "$PY" -m ipykernel install --prefix "$WORK/jupyter" --name python3 --display-name "Python 3 (grokbook device)" \
    >/dev/null
  rc=$?; record kernelspec $rc; [ $rc = 0 ] || HAVE_PAPERMILL=0
fi

echo "== machine"
if command -v nvidia-smi >/dev/null; then nvidia-smi; else echo "nvidia-smi: not here"; fi
"$PY" - <<'EOF'
import importlib, platform, sys
import torch
print(f"python {platform.python_version()} ({sys.executable}); torch {torch.__version__} (cuda {torch.version.cuda}); "
      f"cuda available: {torch.cuda.is_available()}"
      + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
vs = []
for m in ("numpy", "scipy", "pandas", "matplotlib", "yaml", "papermill", "nbclient", "ipykernel", "zmq", "grokbook"):
    try:
        mod = importlib.import_module(m)
        vs.append(f"{m} {getattr(mod, '__version__', '')} ({mod.__file__.rsplit('/', 3)[-3]})")
    except Exception as e:
        vs.append(f"{m}: {type(e).__name__}: {e}")
print("; ".join(vs))
EOF
if git rev-parse --git-dir >/dev/null 2>&1; then
  echo "git $(git log -1 --format='%h %s'); $(git status --short | wc -l) changed file(s)"; fi

echo "== preflight: grokbook CLI and a papermill kernel ($(elapsed) s)"
"$PY" -m grokbook.cli --help >/dev/null; rc=$?; record cli $rc
PREFLIGHT=1
if [ "$HAVE_PAPERMILL" = 1 ] && [ $rc = 0 ]; then
  PREFLIGHT_DIR=$WORK EXPECT_CUDA=$([ "$DRY" = 1 ] && echo 0 || echo 1) timeout -s INT -k 10 180 "$PY" - <<'EOF'
import os, sys, tempfile, time
import nbformat, papermill
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("python3")
print("kernelspec python3:", spec.resource_dir, spec.argv)
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.cells = [nbformat.v4.new_code_cell(
    "import os, sys, torch, grokbook\n"
    "print(os.path.realpath(sys.executable), os.path.realpath(grokbook.__file__), torch.cuda.is_available())")]
d = tempfile.mkdtemp(dir=os.environ["PREFLIGHT_DIR"])
nbformat.write(nb, f"{d}/preflight.ipynb")
t = time.perf_counter()
out = papermill.execute_notebook(f"{d}/preflight.ipynb", f"{d}/preflight.out.ipynb", kernel_name="python3",
                                 progress_bar=False, start_timeout=120, cwd=os.getcwd())
exe, gb, cuda = "".join(o.get("text", "") for o in out.cells[0].outputs).split()
print(f"kernel: {exe}, grokbook from {gb}, cuda {cuda}; round trip {time.perf_counter() - t:.1f} s")
problems = []
if exe != os.path.realpath(sys.executable):
    problems.append(f"the kernel runs {exe}, not {os.path.realpath(sys.executable)}")
if gb != os.path.realpath("lib/grokbook/__init__.py"):
    problems.append(f"the kernel imports grokbook from {gb}, not from lib/")
if os.environ["EXPECT_CUDA"] == "1" and cuda != "True":
    problems.append("the kernel sees no CUDA device: the paper profile would run on the CPU")
sys.exit("preflight: " + "; ".join(problems) if problems else 0)
EOF
  rc=$?; record preflight $rc; [ $rc = 0 ] || PREFLIGHT=0
else
  PREFLIGHT=0
fi

bench() {   # bench LABEL BUDGET_S [extra args]: one benchmark run; JSON into $BENCH_OUT, rows salvaged on a cut
  local label=$1 budget=$2 dir=$WORK/bench-$1 f name rc
  shift 2
  mkdir -p "$dir"
  echo "== benchmark $label: stacked_training.py $BENCH_ARGS $* (budget ${budget}s, at $(elapsed) s)"
  # shellcheck disable=SC2086
  if [ "$budget" -lt 20 ]; then echo "skipped: only ${budget}s left"; record "bench-$label" 124; return; fi
  run_limited "$budget" "$PY" benchmarks/stacked_training.py $BENCH_ARGS "$@" --out "$dir"
  rc=$?
  echo "== end of benchmark $label (status $rc)"
  record "bench-$label" $rc
  shopt -s nullglob
  local made=("$dir"/*.json)
  shopt -u nullglob
  for f in "${made[@]}"; do
    name=$(basename "$f")
    if [ "$label" != base ] && [[ "$name" != *"$label"* ]]; then name=${name%.json}-$label.json; fi
    cp "$f" "$BENCH_OUT/$name" && echo "benchmark result: $BENCH_OUT/$name"
  done
  if [ ${#made[@]} = 0 ]; then   # cut short: keep the rows it printed, under a name the book does not read
    sleep 0.5                    # tee has the rows in the log by now
    LOGFILE=$LOG BENCH_LABEL=$label BENCH_ARGS="$BENCH_ARGS $*" RC=$rc "$PY" - <<'EOF'
import json, os, shlex
from pathlib import Path
label = os.environ["BENCH_LABEL"]
text = Path(os.environ["LOGFILE"]).read_text(errors="replace")
text = text[text.rindex(f"== benchmark {label}:"):]
text = text[:text.index(f"== end of benchmark {label}")]
rows = [json.loads(l) for l in text.splitlines() if l.startswith('{"R"')]
args = shlex.split(os.environ["BENCH_ARGS"])
opt = lambda k, default: args[args.index(k) + 1] if k in args else default
dev, scale = opt("--device", "cpu").split(":")[0], opt("--scale", "smoke")
name = f"partial_stacked_training-{dev}-{scale}{'' if label == 'base' else '-' + label}.json"
if rows:
    out = Path(os.environ["BENCH_OUT_DIR"]) / name
    out.write_text(json.dumps({"env": {"device": dev, "scale": scale, "args": os.environ["BENCH_ARGS"],
                                       "note": f"rows salvaged from the log: the run stopped with status "
                                               f"{os.environ['RC']} before writing its JSON"}, "rows": rows}, indent=1))
    print(f"benchmark cut short: {len(rows)} row(s) salvaged into {out}")
else:
    print("benchmark cut short before its first row: nothing to salvage")
EOF
  fi
}
export BENCH_OUT_DIR=$BENCH_OUT
if [ "$RUN_BENCH" = 1 ]; then
  bench base "$(within "$BENCH_BUDGET_S")"
fi

left=$(within "$BUDGET_S")
if [ "$RUN_REPRODUCE" != 1 ]; then
  echo "== reproduce: switched off (RUN_REPRODUCE=$RUN_REPRODUCE)"
elif [ "$PREFLIGHT" != 1 ]; then
  echo "== reproduce: skipped, no working papermill kernel (wheels, kernelspec or preflight failed above)"
  record reproduce 3
elif [ "$left" -lt 30 ]; then
  echo "== reproduce: skipped, only ${left}s left of the budget"; record reproduce 124
else
  if [ "$DRY" = 1 ]; then
    read -r paper slug < <("$PY" -c "from grokbook import registry; c = registry.get('$DRY_CLAIM'); print(c.paper, c.slug)")
    cmd=("$PY" -m grokbook.cli run "$DRY_CLAIM" --profile smoke --output "$RES_ROOT/book/$paper/$slug.ipynb")
    # shellcheck disable=SC2206
    cmd+=($DRY_RUN_ARGS)
  else
    # shellcheck disable=SC2206
    cmd=("$PY" -m grokbook.cli reproduce $REPRODUCE_ARGS)
  fi
  echo "== reproduce: ${cmd[*]:1} (budget ${left}s, at $(elapsed) s)"
  run_limited "$left" "${cmd[@]}"
  rc=$?
  [ $rc = 124 ] && echo "reproduce: time budget reached; finished claims are kept, the rest resumes next time"
  record reproduce $rc
  kill_our_kernels
fi
