// Files root may run or read instructions from: only if nobody but root can change them, the rule sudo and
// systemd apply to what they run as root. Otherwise whoever can write the file, or swap it through a
// directory above it, runs code as root.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace migctl {

/// Ok when only root can change what `path` (absolute, or relative to the working directory) names: the
/// file and every directory above it, along the path as given and along its resolved path, are owned by
/// root and not group- or other-writable. A sticky directory (like /tmp) may be writable by others when the
/// entry below it exists and is root's. When `path` does not exist, the deepest existing directory must be
/// writable by root alone (sticky or not), or someone else could create it. Otherwise kInvalidInput, in one
/// line: "`what` PATH: DIR is writable by uid 1000 (its owner) and everyone (mode 0777); ..." with the fix.
Status CheckOnlyRootCanChange(const std::string& path, std::string_view what);

}  // namespace migctl
