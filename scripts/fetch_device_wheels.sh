#!/usr/bin/env bash
# Download the wheels of scripts/device_wheels.txt (CPython 3.12, manylinux x86_64) into .whl/, the git-ignored
# folder that travels to a lent GPU machine (run tool: carry [".whl"]), and check that they install together and
# that every dependency is either one of them or already on that machine. Idempotent: present wheels are kept,
# wheels not on the list are removed (pip refuses two versions of one package).
#   bash scripts/fetch_device_wheels.sh          # then: bash scripts/device_paper.sh on the GPU machine
set -euo pipefail
cd "$(dirname "$0")/.."
LIST=${WHEELS_LIST:-scripts/device_wheels.txt}   # overridable for tests
DEST=${WHEELS_DIR:-.whl}
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_26_x86_64 manylinux_2_17_x86_64
           manylinux2014_x86_64 manylinux1_x86_64)

# Python packages the GPU machine's image already holds (KINDS.md, "Python packages already there", read
# 2026-11-17). A wheel's dependency that is neither here nor on the list fails the check below.
DEVICE_HAS="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build
certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers
flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py
markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind
narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse
nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging
pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11
py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham
simplejson six sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore
threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics
torchvision tqdm transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig
werkzeug wheel wrapt xarray xxhash yarl zipp"

mkdir -p "$DEST"
# 1. drop wheels that are not on the list (other versions, leftovers); list what is still to download
todo=$(LIST=$LIST DEST=$DEST "$PY" - <<'EOF'
import os, re
from pathlib import Path
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
want = {}
for line in Path(os.environ["LIST"]).read_text().splitlines():
    line = line.split("#")[0].strip()
    if line:
        name, _, version = line.partition("==")
        want[norm(name)] = (name.strip(), version.strip())
have = set()
for whl in sorted(Path(os.environ["DEST"]).glob("*.whl")):
    name, version = whl.name.split("-")[:2]
    if want.get(norm(name), (None, None))[1] == version and norm(name) not in have:
        have.add(norm(name))
    else:
        print(f"removing {whl} (not on the list)", file=__import__("sys").stderr)
        whl.unlink()
print(" ".join(f"{n}=={v}" for k, (n, v) in want.items() if k not in have))
EOF
)
# 2. download the missing ones, for the GPU machine's interpreter rather than this one
if [ -n "$todo" ]; then
  echo "downloading: $todo"
  # shellcheck disable=SC2086
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]/#/--platform=}" -d "$DEST" $todo
else
  echo "all $(grep -c '==' "$LIST") wheels already in $DEST/"
fi
# 3. dependency closure and pins: every Requires-Dist (extras skipped, markers evaluated for CPython 3.12 on
#    Linux x86_64) must be on the list, in a pinned version that satisfies it, or on the machine already
DEVICE_HAS=$DEVICE_HAS LIST=$LIST DEST=$DEST "$PY" - <<'EOF'
import os, re, sys, zipfile
from pathlib import Path
try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
except ImportError:                       # pip always carries its own copy
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
ENV = {"python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
       "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
       "os_name": "posix", "platform_machine": "x86_64", "extra": ""}
want = {}
for line in Path(os.environ["LIST"]).read_text().splitlines():
    line = line.split("#")[0].strip()
    if line:
        name, _, version = line.partition("==")
        if norm(name) in want:
            sys.exit(f"error: {name} is pinned twice in {os.environ['LIST']}")
        want[norm(name)] = version.strip()
device = {norm(n) for n in os.environ["DEVICE_HAS"].split()}
wheels = {norm(w.name.split("-")[0]): w for w in sorted(Path(os.environ["DEST"]).glob("*.whl"))}
errors = [f"no wheel for {n}=={v} in {os.environ['DEST']}/" for n, v in want.items() if n not in wheels]
notes = set()
for name, whl in wheels.items():
    with zipfile.ZipFile(whl) as z:
        meta = z.read(next(m for m in z.namelist() if m.endswith(".dist-info/METADATA"))).decode()
    for line in meta.splitlines():
        if line.startswith("Requires-Python:") and not SpecifierSet(line.split(":", 1)[1].strip()).contains("3.12.3"):
            errors.append(f"{whl.name} does not support Python 3.12 ({line})")
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        if req.marker is not None and ("extra" in str(req.marker) or not req.marker.evaluate(ENV)):
            continue
        dep = norm(req.name)
        if dep in want:
            if not req.specifier.contains(want[dep], prereleases=True):
                errors.append(f"{name} needs {req.name}{req.specifier}, but the list pins {req.name}=={want[dep]}")
        elif dep in device:
            notes.add(f"{req.name}{req.specifier}")
        else:
            errors.append(f"missing dependency: {req.name}{req.specifier} (required by {name}) is neither in "
                          f"{os.environ['LIST']} nor on the GPU machine")
if errors:
    sys.exit("\n".join(f"error: {e}" for e in errors))
print(f"closure ok: {len(wheels)} wheels; taken from the GPU machine's own packages (versions not checked here): "
      + ", ".join(sorted(notes)))
EOF
# 4. they install together as CPython 3.12 manylinux wheels (the command device_paper.sh runs, into a throwaway dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$tmp/site" \
  --only-binary=:all: --python-version 3.12 --implementation cp "${PLATFORMS[@]/#/--platform=}" "$DEST"/*.whl
echo "install check ok: $(ls "$tmp/site" | grep -c 'dist-info$') packages into a cp312 target"
echo "$DEST/: $(ls "$DEST"/*.whl | wc -l) wheels, $(du -sh "$DEST" | cut -f1)"
