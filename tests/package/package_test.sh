#!/usr/bin/env bash
# `make package`'s .deb, checked as an operator would meet it: built with CPack from BUILD_DIR,
# its control file (name, runtime library dependencies), its contents, and, unpacked into a
# scratch root (dpkg -x): the systemd unit verifies, systemd-sysusers and systemd-tmpfiles create
# the user and give /etc/modsync to its group, and that user can read a pair file installed as
# documented (root:modsync 0640) and validate it with the packaged binary. The last step also
# shows why: a directory as ConfigurationDirectory= leaves it (root:root 0750) is unreadable.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=$1
source=$2
work=$(mktemp -d /tmp/modsync-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"  # the unpacked tree is read by an unprivileged user below
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack did not build the package"; }
deb=$(ls "$work"/out/modsync_*.deb)
[ -f "$deb" ] || fail "no modsync_*.deb in $work/out"

# ---- the control file ----
[ "$(dpkg-deb -f "$deb" Package)" = modsync ] || fail "Package is not modsync"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpq5 librdkafka1 libsystemd0 libyaml-cpp libfmt libspdlog libsimdjson libc6 systemd; do
  case "$depends" in *"$lib"*) ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
dpkg-deb -I "$deb" postinst | grep -q systemd-sysusers || fail "postinst does not create the user"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/modsync/orders-to-shipping.yaml.example ||
  fail "the example config is not a conffile"

# ---- the contents ----
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/modsync ./usr/lib/systemd/system/modsync.service \
  ./usr/lib/sysusers.d/modsync.conf ./usr/lib/tmpfiles.d/modsync.conf \
  ./etc/modsync/orders-to-shipping.yaml.example ./usr/share/doc/modsync/operations.md \
  ./usr/share/doc/modsync/runbook.md ./usr/share/doc/modsync/modsync-alerts.yaml \
  ./usr/share/doc/modsync/modsync-dashboard.json; do
  grep -qx -- "$path" <<<"$contents" || fail "the package lacks $path"
done
if grep -q '^\./etc/modsync/.*\.yaml$' <<<"$contents"; then
  fail "a *.yaml under /etc/modsync would be run by the daemon as a pair"
fi

# ---- unpacked into a scratch root ----
root=$work/root
dpkg -x "$deb" "$root"
"$root/usr/bin/modsync" --help >/dev/null || fail "the packaged binary does not run"

unit=$root/usr/lib/systemd/system/modsync.service
grep -qx 'ExecStart=/usr/bin/modsync run --config /etc/modsync' "$unit" ||
  fail "the unit does not start /usr/bin/modsync"
# verify checks that ExecStart exists: point a copy at the unpacked binary; it must be silent.
mkdir "$work/unit"
sed "s|^ExecStart=/usr/bin/modsync|ExecStart=$root/usr/bin/modsync|" "$unit" >"$work/unit/modsync.service"
verify=$(systemd-analyze verify --man=no --generators=no "$work/unit/modsync.service" 2>&1) ||
  { echo "$verify" >&2; fail "systemd-analyze verify failed"; }
[ -z "$verify" ] || { echo "$verify" >&2; fail "systemd-analyze verify warned"; }

systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/modsync.conf" >/dev/null 2>&1 ||
  fail "systemd-sysusers failed"
uid=$(awk -F: '$1 == "modsync" {print $3}' "$root/etc/passwd")
gid=$(awk -F: '$1 == "modsync" {print $3}' "$root/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "no modsync user/group after systemd-sysusers"
systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/modsync.conf" ||
  fail "systemd-tmpfiles failed"
[ "$(stat -c '%u:%g %a' "$root/etc/modsync")" = "0:$gid 750" ] ||
  fail "/etc/modsync is $(stat -c '%u:%g %a' "$root/etc/modsync"), not 0:$gid 750"

if [ "$(id -u)" -ne 0 ]; then
  echo "package_test: ok (not root: the service user's view of /etc/modsync was not tried)"
  exit 0
fi
# A pair file installed as docs/operations.md says, read and validated as the service's user.
cp "$root/etc/modsync/orders-to-shipping.yaml.example" "$work/orders.yaml"
install -m 0640 -g "$gid" "$work/orders.yaml" "$root/etc/modsync/orders.yaml"
as_service() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }
as_service cat "$root/etc/modsync/orders.yaml" >/dev/null ||
  fail "the service user cannot read /etc/modsync/orders.yaml"
out=$(as_service "$root/usr/bin/modsync" validate "$root/etc/modsync" 2>&1) ||
  { echo "$out" >&2; fail "modsync validate as the service user failed"; }

# What ConfigurationDirectory= alone leaves: root:root 0750. Unreadable for the service user.
mkdir -m 0750 "$work/etc-modsync-unit-only"
install -m 0640 -g "$gid" "$work/orders.yaml" "$work/etc-modsync-unit-only/orders.yaml"
if as_service cat "$work/etc-modsync-unit-only/orders.yaml" >/dev/null 2>&1; then
  fail "a root:root 0750 directory was readable: the test cannot tell the fix from its absence"
fi

echo "package_test: ok: $(basename "$deb"), Depends: $depends"
