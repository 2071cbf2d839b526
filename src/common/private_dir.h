// Private directories: where migctl keeps what nobody else may touch (leases, MPS pipes, run state). A
// directory is only as safe as the path to it, so the whole path is checked, the way sudo and OpenSSH check
// the files they trust.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace migctl {

/// Creates `path` (missing parents too, each 0700 at most) as a directory of the effective user, and checks
/// that nobody else can change what lies in it: the directory must be a real directory (not a symbolic
/// link) owned by the effective user and not group- or other-writable; every directory above it (after
/// resolving links) must be owned by root or the effective user and not group- or other-writable unless it
/// is sticky (like /tmp). An existing directory is never chmod'ed.
///
/// Returns the checked path with its parent resolved (no symbolic links): use it, not `path`, from then on,
/// so that a link swapped later cannot redirect migctl. A refusal is kInvalidInput with one line naming the
/// offending directory and ending in "remove it or `elsewhere`" (e.g. "set MIGCTL_LEASE_DIR to a directory
/// of yours"); kIo when the file system fails.
Result<std::string> EnsurePrivateDir(const std::string& path, std::string_view elsewhere);

/// Where migctl keeps `leaf` by default: /run/migctl/LEAF for root, $XDG_RUNTIME_DIR/migctl/LEAF for other
/// users, and /tmp/migctl-UID/LEAF when XDG_RUNTIME_DIR is unset (checked by EnsurePrivateDir like any other
/// path, so a directory planted there by someone else is refused, never used).
std::string DefaultPrivateDir(std::string_view leaf);

}  // namespace migctl
