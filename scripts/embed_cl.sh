#!/bin/sh
# Turns an OpenCL kernel source into a C file defining
#   const char mh_kernel_<name>[]   (the source, NUL-terminated)
# so that the library carries its kernels. Usage: embed_cl.sh FILE NAME
set -eu
printf '/* generated from %s by scripts/embed_cl.sh; do not edit */\n' "$1"
printf 'extern const char mh_kernel_%s[];\n' "$2"
printf 'const char mh_kernel_%s[] = {\n' "$2"
od -An -v -tx1 "$1" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
printf '0x00};\n'
