#!/usr/bin/env bash
# Capture real VT-d traces: QEMU's intel-iommu model (-trace 'vtd_*') and the guest kernel's own
# intel_iommu / iommu tracepoints (tracefs), from one TCG boot of a Debian kernel with a busybox
# initramfs, an NVMe disk and an e1000e NIC behind the vIOMMU. The guest reads and writes the disk,
# brings the NIC up and sends packets (to no peer: the NIC has no netdev, nothing leaves QEMU), then
# points the NIC's TX ring at an unmapped IOVA so the device's next descriptor fetch faults in VT-d.
#
# Usage: scripts/capture-qemu-trace.sh [-o OUTDIR] [--legacy] [--no-timestamp]
#   OUTDIR (default ./capture-out) receives qemu-vtd.log (QEMU's log backend), guest-ftrace.txt (the
#   guest's /sys/kernel/tracing/trace, written to its second serial port), console.log (first serial port).
#   --legacy       VT-d legacy mode (root/context entries only) instead of scalable mode
#   --no-timestamp QEMU's log lines without the "<tid>@<sec>.<usec>:" prefix (no -msg timestamp=on)
#
# Captured with (Debian 12 packages, as installed by
#   apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static cpio kmod):
#   QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)
#   linux-image-amd64 6.1.192-3, kernel 6.1.0-57-amd64
#   BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1)
# The exact QEMU command line (scalable mode, timestamps on), as the script runs it:
#   timeout 900 qemu-system-x86_64 -machine q35,kernel-irqchip=split -accel tcg -smp 1 -m 256M \
#     -display none -monitor none -no-reboot -nic none \
#     -kernel /boot/vmlinuz-6.1.0-57-amd64 -initrd $TMP/initramfs.cpio.gz \
#     -append 'console=ttyS0 intel_iommu=on iommu.strict=1 trace_event=intel_iommu:*,iommu:* trace_buf_size=8M panic=-1' \
#     -device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on \
#     -drive if=none,id=d0,file=$TMP/disk.img,format=raw -device nvme,serial=iotrace0,drive=d0 \
#     -device e1000e,mac=52:54:00:12:34:56 \
#     -serial stdio -serial file:$OUT/guest-ftrace.txt \
#     -trace 'vtd_*' -D $OUT/qemu-vtd.log -msg timestamp=on
set -euo pipefail

out=./capture-out
scalable=on
stamp=on
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="${2:?-o needs a directory}"; shift 2 ;;
    --legacy) scalable=off; shift ;;
    --no-timestamp) stamp=off; shift ;;
    *) echo "capture-qemu-trace.sh: unknown argument '$1' (usage: [-o OUTDIR] [--legacy] [--no-timestamp])" >&2; exit 2 ;;
  esac
done

die() { echo "capture-qemu-trace.sh: $*" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
  die "qemu-system-x86_64 not found: apt-get install -y qemu-system-x86 linux-image-amd64 busybox-static cpio kmod"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found: apt-get install -y busybox-static"
! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is linked dynamically: apt-get install -y busybox-static"
command -v cpio >/dev/null || die "cpio not found: apt-get install -y cpio"
command -v modprobe >/dev/null || die "modprobe not found: apt-get install -y kmod"
kver=$(ls /lib/modules 2>/dev/null | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[ -n "$kver" ] && [ -r "$kernel" ] || die "no Debian kernel in /boot and /lib/modules: apt-get install -y linux-image-amd64"
qemu-system-x86_64 -device intel-iommu,help 2>&1 | grep -q x-scalable-mode ||
  { [ "$scalable" = off ] || die "this QEMU's intel-iommu has no x-scalable-mode: rerun with --legacy"; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The initramfs: static busybox, the NVMe and e1000e driver modules with their dependencies (in the
# order modprobe would load them), and /init below.
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
cp "$busybox" "$root/bin/busybox"
: >"$root/modules.order"
for m in e1000e nvme; do
  modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$root/lib/modules/"
  basename "$ko" >>"$root/modules.order"
done

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
# Boot already traced intel_iommu:* and iommu:* (trace_event= on the command line); keep them on.
echo 1 >$T/events/intel_iommu/enable
echo 1 >$T/events/iommu/enable
mark() { echo "iotrace-mark: $1" >$T/trace_marker; echo "=== iotrace-mark: $1"; }
echo "=== events: $(ls $T/events/intel_iommu $T/events/iommu | tr '\n' ' ')"

mark "insmod"
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null || echo "insmod $m failed (ignored)"; done
sleep 2
disk=/dev/nvme0n1
[ -b $disk ] || echo "=== no $disk"

mark "nvme read 1 MiB direct"
dd if=$disk of=/dev/null bs=64k count=16 iflag=direct
mark "nvme write 256 KiB direct"
dd if=/dev/zero of=$disk bs=64k count=4 oflag=direct conv=fsync

nic=$(ls /sys/class/net | grep -v '^lo$' | head -1)
mark "e1000e up ($nic)"
ip link set "$nic" up
ip addr add 192.0.2.2/24 dev "$nic"
sleep 1
mark "e1000e send (no peer)"
ping -c 3 -W 1 192.0.2.1 >/dev/null 2>&1
arping -c 2 -I "$nic" 192.0.2.1 >/dev/null 2>&1

# The fault: write the NIC's TX descriptor base (TDBAL 0x3800, TDBAH 0x3804) to an IOVA nothing maps,
# then move the tail (TDT 0x3818) one past the head (TDH 0x3810): the device fetches a descriptor from
# that IOVA and the vIOMMU faults. The registers are reached through the I/O BAR's IOADDR (+0) and
# IODATA (+4) window, via sysfs resource files, since IO_STRICT_DEVMEM keeps /dev/mem off a bound BAR.
dev=/sys/class/net/$nic/device
iobar=
for r in 0 1 2 3 4 5; do
  f=$(sed -n "$((r + 1))p" $dev/resource | awk '{ print $3 }')
  [ -n "$f" ] && [ $(( f & 0x100 )) -ne 0 ] && { iobar=$dev/resource$r; break; }
done
le32() { v=$1; printf "\\$(printf %03o $((v & 255)))\\$(printf %03o $(((v >> 8) & 255)))\\$(printf %03o $(((v >> 16) & 255)))\\$(printf %03o $(((v >> 24) & 255)))"; }
wr() { le32 $1 | dd of=$iobar bs=4 count=1 seek=0 conv=notrunc 2>/dev/null; le32 $2 | dd of=$iobar bs=4 count=1 seek=1 conv=notrunc 2>/dev/null; }
rd() { le32 $1 | dd of=$iobar bs=4 count=1 seek=0 conv=notrunc 2>/dev/null; dd if=$iobar bs=4 count=1 skip=1 2>/dev/null | od -An -tu4 | tr -d ' '; }
if [ -n "$iobar" ]; then
  tdh=$(rd 0x3810); tdt=$(rd 0x3818); tdlen=$(rd 0x3808)
  mark "fault: TDBAL := 0xdead0000 via $iobar (TDH=$tdh TDT=$tdt TDLEN=$tdlen)"
  wr 0x3804 0
  wr 0x3800 0xdead0000
  wr 0x3818 $(( (tdh + 1) % (tdlen / 16) ))
  # The TX hang watchdog resets the NIC a few seconds later (unmapping and remapping its rings).
  sleep 6
else
  echo "=== no I/O BAR on $nic: no fault provoked"
fi
mark "e1000e down"
ip link set "$nic" down
sleep 1
mark "end"
echo 0 >$T/tracing_on
echo "=== dmesg DMAR lines"
dmesg | grep -iE 'dmar|iommu'
cat $T/trace >/dev/ttyS1
sync
echo "=== iotrace capture done"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.cpio.gz"
truncate -s 16M "$tmp/disk.img"

msg=()
[ "$stamp" = on ] && msg=(-msg timestamp=on)
: >"$out/qemu-vtd.log"
: >"$out/guest-ftrace.txt"
set -x
timeout 900 qemu-system-x86_64 -machine q35,kernel-irqchip=split -accel tcg -smp 1 -m 256M \
  -display none -monitor none -no-reboot -nic none \
  -kernel "$kernel" -initrd "$tmp/initramfs.cpio.gz" \
  -append 'console=ttyS0 intel_iommu=on iommu.strict=1 trace_event=intel_iommu:*,iommu:* trace_buf_size=8M panic=-1' \
  -device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=$scalable \
  -drive if=none,id=d0,file="$tmp/disk.img",format=raw -device nvme,serial=iotrace0,drive=d0 \
  -device e1000e,mac=52:54:00:12:34:56 \
  -serial stdio -serial file:"$out/guest-ftrace.txt" \
  -trace 'vtd_*' -D "$out/qemu-vtd.log" "${msg[@]}" </dev/null >"$out/console.log"
{ set +x; } 2>/dev/null
grep -q 'iotrace capture done' "$out/console.log" || die "the guest did not finish: see $out/console.log"
echo "capture-qemu-trace.sh: wrote $out/qemu-vtd.log ($(wc -l <"$out/qemu-vtd.log") lines)," \
  "$out/guest-ftrace.txt ($(wc -l <"$out/guest-ftrace.txt") lines), $out/console.log"
