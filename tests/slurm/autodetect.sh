#!/usr/bin/env bash
# Slurm's own NVML autodetection (gres.conf `AutoDetect=nvml`, the gpu/nvml plugin of Debian's contrib package
# slurm-wlm-nvml-plugin) run against a simulated machine, through `slurmd -G` (prints the node's GRES and exits;
# no daemon is started).
#
#   autodetect.sh gres STATE [NODE]      the node's GPUs as slurmd will use them, in its index order: its
#                                        `Gres Name=gpu Type=... File=...` lines, with slurm.conf's `Gres=` from
#                                        `migctl slurm gres` (types matched to the detected names by substring)
#   autodetect.sh detected STATE [NODE]  what the plugin detected, before any matching: its `GRES[gpu]
#                                        Type:<full name> ... File:... UniqueId:...` records
#   autodetect.sh plugin                 only makes sure the plugin is extracted; prints its PluginDir
#
# STATE is a `migctl sim init` file; NODE names the node in slurm.conf (default n1).
#
# How the simulator stands in for the driver, all in a temporary directory and a private mount namespace (the
# host's /dev and /proc are never written):
# - slurmd dlopens `libnvidia-ml.so`, the plugin links `libnvidia-ml.so.1`: both are links to libmigsim.so in a
#   directory on slurmd's LD_LIBRARY_PATH, with MIGSIM_STATE=STATE in its environment;
# - the plugin reads the hard-coded /proc/driver/nvidia-caps/mig-minors and names /dev/nvidiaN and
#   /dev/nvidia-caps/nvidia-capM: `migctl sim devices` makes them under ROOT, and `unshare -m` mounts them over
#   /proc/driver and /dev (with the host's null, zero, full, random, urandom and tty bound into that /dev).
#
# The plugin is taken from PLUGIN_DEB (a .deb) when set, else from the cache (PLUGIN_CACHE, default
# /var/cache/migctl-tests/slurm-wlm-nvml-plugin), else downloaded there with apt-get from bookworm contrib,
# through a private sources list (the system's apt configuration is not touched). Its Slurm version must be
# slurmd's.
#
# Settings: MIGCTL (default: migctl on PATH), MIGSIM_LIB (default: libmigsim.so beside MIGCTL), GRES (slurm.conf's
# `Gres=` for `gres`; default: what `migctl slurm gres` says), KEEP=1 keeps the work directory.
# Exit status: 0 done, 1 failed, 77 the plugin cannot be had (no network, no such package): a test skips.
# Needs root (mount namespace) and slurmd.
set -euo pipefail

MIGCTL=${MIGCTL:-migctl}
PLUGIN_CACHE=${PLUGIN_CACHE:-/var/cache/migctl-tests/slurm-wlm-nvml-plugin}
PLUGIN_SUBDIR=usr/lib/x86_64-linux-gnu/slurm-wlm
SYSTEM_PLUGINS=/usr/lib/x86_64-linux-gnu/slurm-wlm

die() { echo "autodetect.sh: $*" >&2; exit 1; }
unavailable() { echo "autodetect.sh: $*" >&2; exit 77; }

upstream_version() { sed -E 's/^[0-9]+://; s/-[^-]*$//'; }

# Extracts $1 (a .deb) into the cache, after checking that its Slurm version is slurmd's.
extract_deb() {
  local deb=$1 want have
  [ -f "$deb" ] || die "PLUGIN_DEB=$deb: no such file"
  have=$(dpkg-deb -f "$deb" Version | upstream_version)
  want=$(dpkg-query -W -f '${Version}' slurmd 2>/dev/null | upstream_version) || die "slurmd is not installed"
  [ "$have" = "$want" ] || unavailable "$deb is Slurm $have but slurmd is $want: the plugin would not load"
  rm -rf "$PLUGIN_CACHE/root"
  mkdir -p "$PLUGIN_CACHE/root"
  dpkg-deb -x "$deb" "$PLUGIN_CACHE/root"
  [ -f "$PLUGIN_CACHE/root/$PLUGIN_SUBDIR/gpu_nvml.so" ] || die "$deb has no $PLUGIN_SUBDIR/gpu_nvml.so"
}

# Downloads slurm-wlm-nvml-plugin from bookworm contrib into the cache, through a private apt state.
download_deb() {
  local apt=$PLUGIN_CACHE/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$PLUGIN_CACHE/deb"
  echo "deb http://deb.debian.org/debian bookworm contrib" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  apt-get "${opts[@]}" -qq update >"$apt/update.log" 2>&1 ||
    unavailable "cannot reach bookworm contrib (apt-get update failed; see $apt/update.log)"
  (cd "$PLUGIN_CACHE/deb" && apt-get "${opts[@]}" -qq download slurm-wlm-nvml-plugin) >"$apt/download.log" 2>&1 ||
    unavailable "cannot download slurm-wlm-nvml-plugin (see $apt/download.log)"
  ls "$PLUGIN_CACHE"/deb/slurm-wlm-nvml-plugin_*.deb | tail -n 1
}

# Prints the directory that holds gpu_nvml.so, extracting or downloading it first when needed.
plugin_dir() {
  if [ -n "${PLUGIN_DEB:-}" ]; then
    extract_deb "$PLUGIN_DEB"
  elif [ ! -f "$PLUGIN_CACHE/root/$PLUGIN_SUBDIR/gpu_nvml.so" ]; then
    local deb
    deb=$(ls "$PLUGIN_CACHE"/deb/slurm-wlm-nvml-plugin_*.deb 2>/dev/null | tail -n 1 || true)
    [ -n "$deb" ] || deb=$(download_deb)
    extract_deb "$deb"
  fi
  echo "$PLUGIN_CACHE/root/$PLUGIN_SUBDIR"
}

usage="usage: autodetect.sh gres|detected STATE [NODE] | autodetect.sh plugin"
[ $# -ge 1 ] || die "$usage"
[ "$(id -u)" = 0 ] || die "run as root (a private mount namespace needs it)"
command -v slurmd >/dev/null || die "slurmd is not installed"

MODE=$1
case "$MODE" in
  plugin) plugin_dir; exit 0 ;;
  gres|detected) [ $# -ge 2 ] || die "$usage" ;;
  *) die "$usage" ;;
esac
STATE=$(realpath "$2")
NODE=${3:-n1}
[ -f "$STATE" ] || die "$2: no such state file"
MIGCTL=$(command -v "$MIGCTL") || die "no migctl binary (set MIGCTL)"
MIGSIM_LIB=${MIGSIM_LIB:-$(dirname "$MIGCTL")/libmigsim.so}
[ -f "$MIGSIM_LIB" ] || die "$MIGSIM_LIB: no such library (set MIGSIM_LIB)"
PLUGINS=$(plugin_dir)

W=$(mktemp -d /tmp/migctl-autodetect-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
mkdir -p "$W/lib" "$W/etc" "$W/spool" "$W/log"
ln -s "$(realpath "$MIGSIM_LIB")" "$W/lib/libnvidia-ml.so"
ln -s "$(realpath "$MIGSIM_LIB")" "$W/lib/libnvidia-ml.so.1"
"$MIGCTL" --sim "$STATE" sim devices "$W/root" >/dev/null
# `detected` asks for a type that no device has: slurmd then matches nothing and lists every detected device,
# under its full name, as ignored.
PROBE_TYPE=migctl_autodetect_probe
if [ "$MODE" = detected ]; then
  GRES=gpu:$PROBE_TYPE:1
else
  GRES=${GRES:-$("$MIGCTL" --sim "$STATE" slurm gres --node "$NODE" --root "$W/root" --print gres)}
fi

cat > "$W/etc/slurm.conf" <<CONF
ClusterName=autodetect
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
PluginDir=$SYSTEM_PLUGINS:$PLUGINS
SlurmdSpoolDir=$W/spool
SlurmdPidFile=$W/slurmd.pid
SlurmdLogFile=$W/log/slurmd.log
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
NodeName=$NODE CPUs=$(nproc) Gres=$GRES State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES State=UP
CONF
echo "AutoDetect=nvml" > "$W/etc/gres.conf"

# Inside the namespace: the simulated mig-minors over /proc/driver, then ROOT/dev (with the host's character
# devices a process needs bound in) over /dev. Everything mounted here vanishes with the namespace.
cat > "$W/namespace.sh" <<'NS'
set -eu
W=$1; shift
mount -t tmpfs migctl-autodetect /proc/driver
mkdir /proc/driver/nvidia-caps
mount --bind "$W/root/proc/driver/nvidia-caps" /proc/driver/nvidia-caps
for d in null zero full random urandom tty; do
  [ -e "/dev/$d" ] || continue
  : > "$W/root/dev/$d"
  mount --bind "/dev/$d" "$W/root/dev/$d"
done
ln -sfn /proc/self/fd "$W/root/dev/fd"
mount --bind "$W/root/dev" /dev
exec "$@"
NS

set +e
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH="$W/lib" MIGSIM_STATE="$STATE" \
  unshare -m --propagation private bash "$W/namespace.sh" "$W" \
  slurmd -G -f "$W/etc/slurm.conf" -N "$NODE" >"$W/log/slurmd-G.out" 2>&1
rc=$?
set -e
if [ "$MODE" = detected ]; then
  pattern='GRES\[gpu\] Type:'
  lines=$(grep "$pattern" "$W/log/slurmd-G.out" | grep -v "Type:$PROBE_TYPE " || true)
else
  lines=$(grep 'Gres Name=gpu' "$W/log/slurmd-G.out" || true)
fi
if [ "$rc" != 0 ] || [ -z "$lines" ]; then
  cat "$W/log/slurmd-G.out" >&2
  die "slurmd -G failed (exit $rc) or printed no GPU"
fi
echo "$lines" | sed 's/^slurmd: *//'
