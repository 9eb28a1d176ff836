# kernel_attention's, toeplitz_attention's and position_transform's serving operands (grouped heads, packed, lengths) on the GPU pipeline: the CPU integration test
# (../cpu/serving_quadratic_ops.py, float64 references of docs/Semantics.md) with the kernels mapped to
# blocks and threads by flt-gpu-pipeline's passes. Everywhere: the blocks and
# threads run one after another on the CPU (--emulate-gpu-mapping), and the
# CUDA library's host side runs on the driver double (cuda-host: cubin
# loaded, every launch within its kernel's limits, nothing left on the
# device; results unchecked). With a GPU: compiled with --target=cuda and
# run on it.
# RUN: env FLT_TEST_TARGET=gpu-emulation %python %S/../cpu/serving_quadratic_ops.py
# RUN: env FLT_TEST_TARGET=cuda-host %python %S/../cpu/serving_quadratic_ops.py
# RUN: %if cuda-device %{ env FLT_TEST_TARGET=cuda %python %S/../cpu/serving_quadratic_ops.py %}
# UNSUPPORTED: sanitizer
