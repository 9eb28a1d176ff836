# Reverse mode of the compatibility forms on the GPU pipeline: the CPU integration test
# (../cpu/gradients_compat.py, float64 torch autograd of docs/Semantics.md) with the kernels mapped to
# blocks and threads by flt-gpu-pipeline's passes (--emulate-gpu-mapping),
# and the CUDA library's host side on the driver double (cuda-host; results
# unchecked). With a GPU: compiled with --target=cuda and run on it.
# RUN: env FLT_TEST_TARGET=gpu-emulation %python %S/../cpu/gradients_compat.py
# RUN: env FLT_TEST_TARGET=cuda-host %python %S/../cpu/gradients_compat.py
# RUN: %if cuda-device %{ env FLT_TEST_TARGET=cuda %python %S/../cpu/gradients_compat.py %}
# UNSUPPORTED: sanitizer
