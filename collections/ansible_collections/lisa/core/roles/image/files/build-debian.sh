#!/usr/bin/env bash
# Build LISA's Debian 12 image: debootstrap -> ext4 (mkfs.ext4 -d, no mount) -> qcow2, with the kernel
# and initrd beside it for direct kernel boot.
#
#   build-debian.sh OUT_DIR [MIRROR] [DISK_SIZE]
#
# The image has no SSH keys of its own. At every boot, lisa-init (below) installs the authorized key
# passed on the kernel command line (lisa.ssh_key=BASE64), creates the host keys if there are none, and
# prints them on the serial console ("LISA-HOSTKEY <key>"), where the controller reads them to trust
# the machine without asking it over the network.
set -euo pipefail

out=${1:?usage: build-debian.sh OUT_DIR [MIRROR] [DISK_SIZE]}
mirror=${2:-http://deb.debian.org/debian}
size=${3:-3G}
packages=systemd-sysv,openssh-server,python3,iproute2,ifupdown,isc-dhcp-client,linux-image-cloud-amd64,udev,kmod,procps,fdisk,iputils-ping,iperf3,systemd-timesyncd,ca-certificates

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$out.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

echo "building the Debian 12 image in $work (debootstrap from $mirror)"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "debootstrap failed; the whole log is above" >&2
  exit 1
}

echo lisa >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lisa\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$root/etc/fstab"
# QEMU user networking gives the first NIC 10.0.2.15; a static address saves the DHCP wait at boot.
cat >"$root/etc/network/interfaces" <<'CONF'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address 10.0.2.15/24
CONF
cat >"$root/etc/ssh/sshd_config.d/lisa.conf" <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF
rm -f "$root"/etc/ssh/ssh_host_*
passwd --root "$root" --lock root >/dev/null

cat >"$root/usr/local/sbin/lisa-init" <<'SCRIPT'
#!/bin/sh
# LISA's boot-time set-up: authorized key, hostname and the second NIC's address from the kernel command
# line, host keys, and the host keys printed on the serial console for the controller to trust.
set -eu
key="" name="" net1=""
for word in $(cat /proc/cmdline); do
  case $word in
    lisa.ssh_key=*) key=${word#lisa.ssh_key=} ;;
    lisa.hostname=*) name=${word#lisa.hostname=} ;;
    lisa.net1=*) net1=${word#lisa.net1=} ;;
  esac
done
if [ -n "$key" ]; then
  install -d -m 0700 /root/.ssh
  echo "$key" | base64 -d >/root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
fi
if [ -n "$name" ]; then
  hostname "$name"
  echo "$name" >/etc/hostname
fi
# eth1 is the point-to-point link to the other instance of the target group (ifupdown leaves it alone).
# The NIC may still be probing this early: wait for it, but never keep SSH from starting for long.
if [ -n "$net1" ]; then
  tries=0
  while [ ! -e /sys/class/net/eth1 ] && [ "$tries" -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  if ip addr replace "$net1" dev eth1 && ip link set eth1 up; then
    echo "LISA-NET1 eth1 $net1" >/dev/ttyS0
  else
    echo "LISA-NET1 failed: no eth1 for $net1" >/dev/ttyS0
  fi
fi
ssh-keygen -A >/dev/null
for pub in /etc/ssh/ssh_host_*_key.pub; do
  echo "LISA-HOSTKEY $(cut -d' ' -f1,2 "$pub")" >/dev/ttyS0
done
SCRIPT
chmod 0755 "$root/usr/local/sbin/lisa-init"
cat >"$root/etc/systemd/system/lisa-init.service" <<'UNIT'
[Unit]
Description=LISA boot-time set-up (SSH keys, hostname, second NIC from the kernel command line)
Before=ssh.service
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lisa-init
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/lisa-init.service "$root/etc/systemd/system/multi-user.target.wants/lisa-init.service"
# No iperf3 server at boot; the network suite starts one when it needs it.
rm -f "$root/etc/systemd/system/multi-user.target.wants/iperf3.service"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*

cp "$(readlink -f "$root/vmlinuz")" "$work/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/initrd.img"
mkfs.ext4 -q -F -L lisa-root -d "$root" "$work/disk.raw" "$size"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
mkdir -p "$out"
mv "$work/disk.qcow2" "$work/vmlinuz" "$work/initrd.img" "$out/"
chmod 0644 "$out"/*
echo "image ready: $out"
