#!/bin/sh
# Measure a target's capabilities, like pytest-cloud probing its nodes; prints one JSON object.
set -eu
cpus=$(nproc)
# Installed memory (memory blocks x block size) where sysfs has it, else MemTotal (which the kernel reduces).
memory_mb=""
if [ -r /sys/devices/system/memory/block_size_bytes ]; then
  block=$((0x$(cat /sys/devices/system/memory/block_size_bytes)))
  online=$(cat /sys/devices/system/memory/memory*/online 2>/dev/null | grep -c 1 || true)
  [ "$online" -gt 0 ] && memory_mb=$((block * online / 1048576))
fi
[ -n "$memory_mb" ] || memory_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# Data disks: whole disks other than the one holding the root file system.
root_disk=$(lsblk -no PKNAME "$(findmnt -no SOURCE / 2>/dev/null || echo /dev/root)" 2>/dev/null | head -n1 || true)
[ -n "$root_disk" ] || root_disk=$(basename "$(findmnt -no SOURCE / 2>/dev/null || echo none)")
disks=$(lsblk -dn -o NAME,TYPE 2>/dev/null | awk -v root="$root_disk" '$2 == "disk" && $1 != root' | wc -l)
nics=$(ls /sys/class/net | grep -cv '^lo$' || true)
printf '{"cpus": %d, "memory_mb": %d, "disks": %d, "nics": %d, "kernel": "%s", "hostname": "%s", "boot_id": "%s"}\n' \
  "$cpus" "$memory_mb" "$disks" "$nics" "$(uname -r)" "$(hostname)" "$(cat /proc/sys/kernel/random/boot_id)"
