# A short run of each runtime fuzz target (tools/flt-fuzz/flt-fuzz-runtime.cpp)
# from its seeds: 10,000 mutated .npy files through both reads of the .npy
# reader, and 10,000 mutated library descriptions through the strict parser,
# with AddressSanitizer and UBSan; a crash, a sanitizer report or a trapped
# disagreement fails the run. scripts/run-fuzzer.sh --runtime=npy|signature
# runs them long.
# REQUIRES: runtime-fuzzer
# RUN: rm -rf %t && mkdir -p %t/npy %t/signature
# RUN: env FLT_FUZZ_TARGET=npy %flt_fuzz_runtime %t/npy %S/runtime-corpus/npy \
# RUN:   -dict=%S/runtime-npy.dict -runs=10000 -seed=1 -max_len=8192 2>&1 \
# RUN:   | FileCheck %s
# RUN: env FLT_FUZZ_TARGET=signature %flt_fuzz_runtime %t/signature \
# RUN:   %S/runtime-corpus/signature -dict=%S/runtime-signature.dict \
# RUN:   -runs=10000 -seed=1 -max_len=8192 2>&1 | FileCheck %s
# CHECK: INFO: seed corpus: files: {{[1-9]}}
# CHECK-NOT: ERROR
# CHECK: Done 10000 runs
