#!/usr/bin/env bash
# LISA's one set-up script for a Debian 12 machine. Idempotent; fast the second time.
#
#   ./bootstrap.sh run  [ansible-playbook args]   install what is missing, run the main job (smoke suite)
#   ./bootstrap.sh test [pytest args]             install what is missing, run every check and test
#   ./bootstrap.sh install                        only install
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=$ROOT/.venv

# Debian packages the project needs on the controller.
APT_PACKAGES=(python3 python3-venv python3-dev gcc git openssh-client pkg-config libvirt-dev
  # targets: libvirt/QEMU VMs, the Debian image build, sshd for the test fleet
  libvirt-daemon-system qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-server iproute2
  # the HTML reports are opened in a headless browser by the tests
  chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_apt_packages() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: run as root, or install: ${missing[*]}" >&2; exit 2; }
    sudo=sudo
  fi
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  # Debian's own Python, not whatever a version manager puts first on PATH.
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; /usr/bin/python3 -m venv "$VENV"; }
  local stamp=$VENV/.lisa-installed want
  want=$(cat pyproject.toml scripts/get_pip.py | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing LISA and its tools into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    echo "$want" >"$stamp"
  fi
  # Ansible finds collections by scanning sys.path for ansible_collections/ directories, and setuptools'
  # editable finder puts nothing on sys.path: name the checkout's two source roots in a .pth file.
  local site
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n' "$ROOT/src" "$ROOT/collections" >"$site/lisa-checkout.pth"
  # ansible-test bootstraps pip in its sanity environments from a script it downloads from its own CI
  # host; that host is not reachable from every machine, so the same job is done from the package index.
  local pip_version
  pip_version=$("$VENV/bin/python" - <<'PY'
import re, ansible_test, pathlib
source = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
  mkdir -p ~/.ansible/test/cache
  cp scripts/get_pip.py ~/.ansible/test/cache/get_pip_"${pip_version//./_}".py
}

# libvirtd for the libvirt platform. QEMU runs as root so that it can read images under ~/.cache/lisa and
# write the serial logs in the state directory. Without systemd (containers, CI) the daemons are started
# by hand: virtlogd first, then libvirtd.
start_libvirt() {
  local conf=/etc/libvirt/qemu.conf restart=0
  if ! grep -q '^user = "root"' "$conf"; then
    sed -i 's/^#\{0,1\}user = "[^"]*"/user = "root"/; s/^#\{0,1\}group = "[^"]*"/group = "root"/' "$conf"
    restart=1
  fi
  if [ -d /run/systemd/system ]; then
    if ((restart)); then systemctl restart libvirtd; else systemctl start libvirtd; fi
    return
  fi
  mkdir -p /var/run/libvirt /var/log/libvirt
  pgrep -x virtlogd >/dev/null || virtlogd -d
  if ((restart)) && pgrep -x libvirtd >/dev/null; then pkill -x libvirtd; sleep 1; fi
  pgrep -x libvirtd >/dev/null || { say "starting libvirtd"; libvirtd -d; }
  local tries=0
  until [ -S /var/run/libvirt/libvirt-sock ]; do
    ((tries++ < 50)) || { echo "bootstrap: libvirtd did not start (see /var/log/libvirt)" >&2; exit 2; }
    sleep 0.2
  done
}

run_checks() {
  export PATH=$VENV/bin:$PATH
  say "ruff"
  ruff check .
  ruff format --check .
  say "mypy (strict)"
  mypy
  say "ansible-lint (production profile)"
  ansible-lint
  say "ansible-test sanity"
  (cd collections/ansible_collections/lisa/core && ansible-test sanity --venv --python 3.11)
  say "pytest"
  pytest "$@"
}

command=${1:-}
shift || true
case "$command" in
  install) install_apt_packages; install_python_packages; start_libvirt ;;
  test) install_apt_packages; install_python_packages; start_libvirt; run_checks "$@" ;;
  run)
    install_apt_packages; install_python_packages; start_libvirt
    export PATH=$VENV/bin:$PATH
    exec ansible-playbook playbooks/run.yml -e suite=smoke "$@"
    ;;
  *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
