"""Lists the CUDA ELF objects (cubins) embedded in a file, one line each:
'cubin sm_<N>' (EM_CUDA = 190; the SM version is bits 8-15 of e_flags)."""

import struct
import sys

data = open(sys.argv[1], "rb").read()
start = 1  # skip the host library's own ELF header
while True:
    at = data.find(b"\x7fELF", start)
    if at < 0:
        break
    machine = struct.unpack_from("<H", data, at + 18)[0]
    if data[at + 4] == 2 and machine == 190:  # 64-bit, EM_CUDA
        flags = struct.unpack_from("<I", data, at + 48)[0]
        print(f"cubin sm_{(flags >> 8) & 0xff}")
    start = at + 4
