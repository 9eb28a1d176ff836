# flt.runtime (the Python runtime) on the GPU pipeline: the CPU integration
# test (../cpu/python_runtime.py, float64 references) with the kernels
# mapped to blocks and threads (run one after another on the CPU), then
# with a CUDA library loaded into the test's own process on the driver
# double (DeviceArrays in and out; results unchecked, the host side and
# what is left on the device checked). With a GPU: on it, torch CUDA
# tensors too.
# REQUIRES: python-bindings
# RUN: env FLT_TEST_TARGET=gpu-emulation %python %S/../cpu/python_runtime.py
# RUN: env FLT_TEST_TARGET=cuda-host %python %S/../cpu/python_runtime.py
# RUN: %if cuda-device %{ env FLT_TEST_TARGET=cuda %python %S/../cpu/python_runtime.py %}
