#!/usr/bin/env python3
"""Wrap a raw 64-bit kernel image (loaded at 1 MiB, 64-bit entry at +0x200) in
a Linux boot protocol 2.12 header, so minivmm loads it as a bzImage."""
import struct
import sys

raw, out = sys.argv[1], sys.argv[2]
payload = open(raw, "rb").read()
setup_sects = 1
setup = bytearray(512 * (setup_sects + 1))
struct.pack_into("<B", setup, 0x1f1, setup_sects)
struct.pack_into("<I", setup, 0x1f4, (len(payload) + 15) // 16)  # syssize
struct.pack_into("<H", setup, 0x1fe, 0xAA55)                     # boot_flag
setup[0x200] = 0xEB                                              # jmp short
setup[0x201] = 0x6A                                              # header length
setup[0x202:0x206] = b"HdrS"
struct.pack_into("<H", setup, 0x206, 0x020C)                     # version 2.12
struct.pack_into("<B", setup, 0x211, 0x01)                       # LOADED_HIGH
struct.pack_into("<I", setup, 0x214, 0x100000)                   # code32_start
struct.pack_into("<I", setup, 0x22C, 0x7FFFFFFF)                 # initrd_addr_max
struct.pack_into("<H", setup, 0x236, 0x1)                        # XLF_KERNEL_64
struct.pack_into("<I", setup, 0x238, 2047)                       # cmdline_size
with open(out, "wb") as f:
    f.write(setup)
    f.write(payload)
