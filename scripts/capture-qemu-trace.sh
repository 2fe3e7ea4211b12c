#!/usr/bin/env bash
# Capture real vIOMMU traces: QEMU's intel-iommu model (-trace 'vtd_*') or its SMMUv3 model (-trace 'smmu*'),
# and the guest kernel's own intel_iommu / iommu tracepoints (tracefs), from one TCG boot of a Debian kernel
# with a busybox initramfs, an NVMe disk and an e1000e NIC behind the vIOMMU. The guest reads and writes the
# disk, brings the NIC up and sends packets (to no peer: -nic none and a NIC without netdev, so nothing
# leaves QEMU), then points the NIC's TX ring at an unmapped IOVA so the device's next descriptor fetch
# faults in the vIOMMU, and brings the NIC down.
#
# Usage: scripts/capture-qemu-trace.sh [-o OUTDIR] [--arch x86_64|aarch64] [--legacy] [--no-timestamp]
#   OUTDIR (default ./capture-out) receives qemu-vtd.log or qemu-smmuv3.log (QEMU's log backend),
#   guest-ftrace.txt (the guest's /sys/kernel/tracing/trace) and console.log (the guest's console); on
#   x86_64 with trace-cmd installed, also guest-trace.dat (the same buffer, saved in the guest by
#   `trace-cmd extract`) and guest-trace-cmd.txt (`trace-cmd report` of it on the host).
#   --arch aarch64  virt board with iommu=smmuv3 and Debian's arm64 kernel and busybox (apt-get download,
#                   needs `dpkg --add-architecture arm64 && apt-get update` once, and qemu-system-arm)
#   --legacy        VT-d legacy mode (root/context entries) instead of scalable mode (x86_64)
#   --no-timestamp  QEMU's log lines without the "<tid>@<sec>.<usec>:" prefix (no -msg timestamp=on)
#   --ats           (x86_64) also a virtio-blk disk with ATS behind a PCIe root port, intel-iommu
#                   device-iotlb=on: the guest enables ATS and sends device-TLB invalidations
# Exits 1 with a message when a tool is missing, the guest does not finish, or no fault was recorded.
#
# Captured with Debian 12 packages (apt-get install -y qemu-system-x86 qemu-system-arm linux-image-amd64
# busybox-static cpio kmod trace-cmd):
#   QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3), qemu-system-x86_64 and -aarch64
#   linux-image-amd64 6.1.192-3 (kernel 6.1.0-57-amd64); linux-image-6.1.0-57-arm64 6.1.192-3 (arm64)
#   BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1), amd64 and arm64; trace-cmd 3.1.6 (amd64)
# The exact QEMU command lines, as the script runs them ($TMP: the script's temp dir; $OUT: OUTDIR):
#   timeout 900 qemu-system-x86_64 -machine q35,kernel-irqchip=split \
#     -device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on -accel tcg -smp 1 -m 256M \
#     -display none -monitor none -no-reboot -nic none \
#     -kernel /boot/vmlinuz-6.1.0-57-amd64 -initrd $TMP/initramfs.cpio.gz \
#     -append 'console=ttyS0 intel_iommu=on iommu.strict=1 trace_event=intel_iommu:*,iommu:* trace_buf_size=8M panic=-1' \
#     -drive if=none,id=d0,file=$TMP/disk.img,format=raw -device nvme,serial=iotrace0,drive=d0 \
#     -device e1000e,mac=52:54:00:12:34:56 \
#     -serial stdio -serial file:$OUT/guest-ftrace.txt -trace 'vtd_*' -D $OUT/qemu-vtd.log -msg timestamp=on
#   (--legacy: x-scalable-mode=off; --no-timestamp: without -msg timestamp=on; --ats: intel-iommu also
#   device-iotlb=on, and -device pcie-root-port,id=rp1,chassis=1 -drive if=none,id=d1,file=$TMP/disk2.img,format=raw
#   -device virtio-blk-pci,bus=rp1,drive=d1,iommu_platform=on,ats=on,disable-legacy=on)
#   timeout 900 qemu-system-aarch64 -machine virt,iommu=smmuv3 -cpu cortex-a57 -accel tcg -smp 1 -m 256M \
#     -display none -monitor none -no-reboot -nic none \
#     -kernel $TMP/arm64/x/boot/vmlinuz-6.1.0-57-arm64 -initrd $TMP/initramfs.cpio.gz \
#     -append 'console=ttyAMA0 iommu.strict=1 trace_event=intel_iommu:*,iommu:* trace_buf_size=8M panic=-1' \
#     -drive if=none,id=d0,file=$TMP/disk.img,format=raw -device nvme,serial=iotrace0,drive=d0 \
#     -device e1000e,mac=52:54:00:12:34:56 \
#     -serial stdio -trace 'smmu*' -D $OUT/qemu-smmuv3.log -msg timestamp=on
set -euo pipefail

out=./capture-out
arch=x86_64
scalable=on
stamp=on
ats=off
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="${2:?-o needs a directory}"; shift 2 ;;
    --arch) arch="${2:?--arch needs x86_64 or aarch64}"; shift 2 ;;
    --legacy) scalable=off; shift ;;
    --ats) ats=on; shift ;;
    --no-timestamp) stamp=off; shift ;;
    *) echo "capture-qemu-trace.sh: unknown argument '$1' (usage: [-o OUTDIR] [--arch x86_64|aarch64] [--legacy] [--no-timestamp] [--ats])" >&2; exit 2 ;;
  esac
done

die() { echo "capture-qemu-trace.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 not found: apt-get install -y $2"; }
case "$arch" in
  x86_64) qemu=qemu-system-x86_64; need $qemu "qemu-system-x86 linux-image-amd64 busybox-static cpio kmod" ;;
  aarch64) qemu=qemu-system-aarch64; need $qemu "qemu-system-arm" ;;
  *) die "unknown --arch '$arch' (x86_64 or aarch64)" ;;
esac
[ "$ats" = off ] || [ "$arch" = x86_64 ] || die "--ats is for x86_64 only"
need cpio cpio
need modprobe kmod
need depmod kmod

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}

# Kernel, modules and busybox: the host's own on x86_64; on aarch64 Debian's arm64 packages, downloaded
# (not installed) and unpacked into $tmp/arm64, with depmod run there since the .deb ships no modules.dep.
if [ "$arch" = x86_64 ]; then
  busybox=$(command -v busybox || true)
  [ -n "$busybox" ] || die "busybox not found: apt-get install -y busybox-static"
  ! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is linked dynamically: apt-get install -y busybox-static"
  base=/
  kver=$(ls /lib/modules 2>/dev/null | sort -V | tail -1)
  [ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] || die "no Debian kernel in /boot and /lib/modules: apt-get install -y linux-image-amd64"
  $qemu -device intel-iommu,help 2>&1 | grep -q x-scalable-mode ||
    { [ "$scalable" = off ] || die "this QEMU's intel-iommu has no x-scalable-mode: rerun with --legacy"; }
else
  dpkg --print-foreign-architectures | grep -qx arm64 ||
    die "Debian's arm64 packages are not visible: dpkg --add-architecture arm64 && apt-get update"
  kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-/ { sub(":arm64", "", $2); print $2; exit }')
  [ -n "$kpkg" ] || die "apt-cache knows no linux-image-arm64:arm64 (apt-get update?)"
  mkdir -p "$tmp/arm64"
  (cd "$tmp/arm64" && apt-get download "$kpkg:arm64" busybox-static:arm64 >/dev/null 2>&1) ||
    die "apt-get download $kpkg:arm64 busybox-static:arm64 failed"
  for d in "$tmp"/arm64/*.deb; do dpkg-deb -x "$d" "$tmp/arm64/x"; done
  base=$tmp/arm64/x
  busybox=$base/bin/busybox
  kver=$(ls "$base/lib/modules" | sort -V | tail -1)
  depmod -b "$base" "$kver"
fi
kernel=$base/boot/vmlinuz-$kver

# The initramfs: static busybox, the NVMe and e1000e driver modules with their dependencies (in the
# order modprobe would load them), and /init below.
cp "$busybox" "$root/bin/busybox"
# x86_64 with trace-cmd on the host: the guest also gets trace-cmd and its libraries (from ldd), to save
# its ring buffer as a trace.dat, which the host turns into `trace-cmd report` text.
tracecmd=
if [ "$arch" = x86_64 ] && command -v trace-cmd >/dev/null; then
  tracecmd=$(command -v trace-cmd)
  mkdir -p "$root/usr/bin"
  cp "$tracecmd" "$root/usr/bin/trace-cmd"
  ldd "$tracecmd" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
fi
: >"$root/modules.order"
drivers="e1000e nvme"
[ "$ats" = on ] && drivers="$drivers virtio_pci virtio_blk"
for m in $drivers; do
  modprobe -d "$base" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
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
# Boot already traced these (trace_event= on the command line); keep them on.
for e in intel_iommu iommu; do [ -d $T/events/$e ] && echo 1 >$T/events/$e/enable; done
mark() { echo "iotrace-mark: $1" >$T/trace_marker; echo "=== iotrace-mark: $1"; }
echo "=== events: $(ls -d $T/events/intel_iommu/* $T/events/iommu/* 2>/dev/null | tr '\n' ' ')"

mark "insmod"
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null || echo "insmod $m failed (ignored)"; done
sleep 2
disk=/dev/nvme0n1
[ -b $disk ] || echo "=== no $disk"

mark "nvme read 1 MiB direct"
dd if=$disk of=/dev/null bs=64k count=16 iflag=direct
mark "nvme write 256 KiB direct"
dd if=/dev/zero of=$disk bs=64k count=4 oflag=direct conv=fsync

if [ -b /dev/vda ]; then
  mark "virtio-blk (ATS) read 512 KiB direct"
  dd if=/dev/vda of=/dev/null bs=64k count=8 iflag=direct
  mark "virtio-blk (ATS) write 128 KiB direct"
  dd if=/dev/zero of=/dev/vda bs=64k count=2 oflag=direct conv=fsync
fi

nic=$(ls /sys/class/net | grep -v '^lo$' | head -1)
mark "e1000e up ($nic)"
# No IPv6 on the NIC: its router solicitations would race with the TX ring writes below.
echo 1 >/proc/sys/net/ipv6/conf/$nic/disable_ipv6
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
  # The driver enables memory decoding only (pci_enable_device_mem); x86 firmware also turned on I/O
  # decoding, Linux on arm's virt board did not: set PCI_COMMAND_IO (bit 0 of the command word, config +4).
  cmd=$(dd if=$dev/config bs=1 skip=4 count=2 2>/dev/null | od -An -tu2 | tr -d ' ')
  le32 $(( cmd | 1 )) | dd of=$dev/config bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
  tdh=$(rd 0x3810); tdt=$(rd 0x3818); tdlen=$(rd 0x3808)
  mark "fault: TDBAL := 0xdead0000 via $iobar (TDH=$tdh TDT=$tdt TDLEN=$tdlen)"
  wr 0x3804 0
  wr 0x3800 0xdead0000
  tdh=$(rd 0x3810)
  wr 0x3818 $(( (tdh + 1) % (tdlen / 16) ))
  echo "=== read back: TDBAL=$(rd 0x3800) TDBAH=$(rd 0x3804) TDH=$(rd 0x3810) TDT=$(rd 0x3818)"
  # Time for the fault handler and the NIC's own retries before the NIC goes down (unmapping its rings).
  sleep 6
else
  echo "=== no I/O BAR on $nic: no fault provoked"
fi
mark "e1000e down"
ip link set "$nic" down
sleep 1
mark "end"
echo 0 >$T/tracing_on
echo "=== dmesg IOMMU lines"
dmesg | grep -iE 'dmar|iommu|smmu'
# x86_64 has a second serial port for the trace; aarch64's virt board has one UART, so the trace goes to
# the console between two marker lines, with the kernel's own console messages silenced. -onlcr: the
# file keeps ftrace's own line ends (no CR added by the tty).
if [ "$(cat /trace-tty)" = console ]; then
  echo 1 >/proc/sys/kernel/printk
  stty -onlcr
  echo "=== iotrace trace begin"; cat $T/trace; echo "=== iotrace trace end"
  stty onlcr
else
  stty -F /dev/$(cat /trace-tty) -onlcr
  cat $T/trace >/dev/$(cat /trace-tty)
  # The same buffer again as trace-cmd's binary trace.dat (extract consumes the buffer, so it runs after
  # the cat above), written to the start of the NVMe disk: over a serial port, its 1 MB would add some
  # 8 million interrupt-remapping lines to QEMU's log.
  if [ -x /usr/bin/trace-cmd ]; then
    mkdir -p /tmp
    /usr/bin/trace-cmd extract -o /tmp/trace.dat >/dev/null 2>&1 || echo "=== trace-cmd extract failed"
    echo "=== trace.dat bytes $(wc -c </tmp/trace.dat)"
    dd if=/tmp/trace.dat of=$disk bs=64k conv=sync,fsync 2>/dev/null
  fi
fi
sync
echo "=== iotrace capture done"
poweroff -f
EOF
chmod +x "$root/init"
msg=()
[ "$stamp" = on ] && msg=(-msg timestamp=on)
cmdline='iommu.strict=1 trace_event=intel_iommu:*,iommu:* trace_buf_size=8M panic=-1'
if [ "$arch" = x86_64 ]; then
  echo ttyS1 >"$root/trace-tty"
  log=$out/qemu-vtd.log
  board=(-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=$scalable)
  if [ "$ats" = on ]; then
    truncate -s 16M "$tmp/disk2.img"
    board=(-machine q35,kernel-irqchip=split
      -device intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=$scalable,device-iotlb=on
      -device pcie-root-port,id=rp1,chassis=1
      -drive if=none,id=d1,file="$tmp/disk2.img",format=raw
      -device virtio-blk-pci,bus=rp1,drive=d1,iommu_platform=on,ats=on,disable-legacy=on)
  fi
  cmdline="console=ttyS0 intel_iommu=on $cmdline"
  serial=(-serial stdio -serial file:"$out/guest-ftrace.txt")
  events='vtd_*'
else
  echo console >"$root/trace-tty"
  log=$out/qemu-smmuv3.log
  board=(-machine virt,iommu=smmuv3 -cpu cortex-a57)
  cmdline="console=ttyAMA0 $cmdline"
  serial=(-serial stdio)
  events='smmu*'
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.cpio.gz"
truncate -s 16M "$tmp/disk.img"
: >"$log"
: >"$out/guest-ftrace.txt"
set -x
timeout 900 $qemu "${board[@]}" -accel tcg -smp 1 -m 256M \
  -display none -monitor none -no-reboot -nic none \
  -kernel "$kernel" -initrd "$tmp/initramfs.cpio.gz" -append "$cmdline" \
  -drive if=none,id=d0,file="$tmp/disk.img",format=raw -device nvme,serial=iotrace0,drive=d0 \
  -device e1000e,mac=52:54:00:12:34:56 \
  "${serial[@]}" -trace "$events" -D "$log" "${msg[@]}" </dev/null >"$out/console.log"
{ set +x; } 2>/dev/null
grep -q 'iotrace capture done' "$out/console.log" || die "the guest did not finish: see $out/console.log"
grep -qE 'vtd_dmar_fault |smmuv3_record_event ' "$log" ||
  die "no DMA fault in $log: the TX ring write did not take (see 'read back' in $out/console.log); rerun"
[ "$arch" = x86_64 ] ||
  sed -n '/^=== iotrace trace begin/,/^=== iotrace trace end/p' "$out/console.log" | sed '1d;$d' >"$out/guest-ftrace.txt"
if [ -n "$tracecmd" ]; then
  bytes=$(sed -n 's/^=== trace.dat bytes \([0-9]*\).*/\1/p' "$out/console.log")
  [ -n "$bytes" ] || die "the guest wrote no trace.dat: see $out/console.log"
  head -c "$bytes" "$tmp/disk.img" >"$out/guest-trace.dat" &&
    trace-cmd report -i "$out/guest-trace.dat" >"$out/guest-trace-cmd.txt" 2>"$out/trace-cmd-report.err" ||
    die "trace-cmd report failed: see $out/trace-cmd-report.err"
  echo "capture-qemu-trace.sh: wrote $out/guest-trace-cmd.txt ($(wc -l <"$out/guest-trace-cmd.txt") lines, trace-cmd report of guest-trace.dat)"
fi
echo "capture-qemu-trace.sh: wrote $log ($(wc -l <"$log") lines)," \
  "$out/guest-ftrace.txt ($(wc -l <"$out/guest-ftrace.txt") lines), $out/console.log"
