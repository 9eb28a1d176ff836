# Non-finite inputs never cross the causal mask, on the GPU pipeline: the
# CPU integration test (../cpu/non_finite.py) with the kernels mapped to
# blocks and threads by flt-gpu-pipeline's passes (the blocks and threads
# run one after another on the CPU, --emulate-gpu-mapping), and the CUDA
# library's host side on the driver double (cuda-host; results unchecked).
# With a GPU: compiled with --target=cuda and run on it.
# RUN: env FLT_TEST_TARGET=gpu-emulation %python %S/../cpu/non_finite.py
# RUN: env FLT_TEST_TARGET=cuda-host %python %S/../cpu/non_finite.py
# RUN: %if cuda-device %{ env FLT_TEST_TARGET=cuda %python %S/../cpu/non_finite.py %}
# UNSUPPORTED: sanitizer
