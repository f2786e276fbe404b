#!/usr/bin/env python3
"""Write an assembly file that embeds a binary as minivmm_<name>_start/_end."""
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
with open(out, "w") as f:
    f.write(f"""\t.section .rodata
\t.balign 16
\t.globl minivmm_{name}_start
\t.globl minivmm_{name}_end
minivmm_{name}_start:
\t.incbin "{src}"
minivmm_{name}_end:
\t.section .note.GNU-stack,"",@progbits
""")
