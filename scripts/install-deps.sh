#!/usr/bin/env bash
# Installs every Debian package flt needs to build and test, when missing.
# A quick no-op when all are present. Runs as root (CI) or through sudo.
set -euo pipefail

packages=(
  # Toolchain: LLVM/MLIR 22 (docs/Design.md section 1).
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
  libomp-22-dev
  # Sanitizer and libFuzzer runtimes (-DFLT_SANITIZE, the fuzzer).
  libclang-rt-22-dev
  # Build.
  cmake ninja-build g++
  # Python: the reference, the integration-test drivers and the bindings.
  python3 python3-numpy python3-dev pybind11-dev
  # Frontends: PyTorch (1.13, CPU) and ONNX.
  python3-torch python3-onnx
  # NumPy on OpenBLAS (the benchmark baselines; Debian defaults to the
  # reference BLAS otherwise).
  libopenblas0-pthread
  # Benchmark plots.
  python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and neither root nor sudo" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
