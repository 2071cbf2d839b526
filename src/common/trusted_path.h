// Files root may run or read instructions from: only if nobody but root can change them, the rule sudo and
// systemd apply to what they run as root. Otherwise whoever can write the file, or swap it through a
// directory above it, runs code as root.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migctl {

/// Ok when only root can change what `path` (absolute, or relative to the working directory) names: the
/// file and every directory above it, along the path as given and along its resolved path, are owned by
/// root and not group- or other-writable. A sticky directory (like /tmp) may be writable by others when the
/// entry below it exists and is root's. When `path` does not exist, the deepest existing directory must be
/// writable by root alone (sticky or not), or someone else could create it. Otherwise kInvalidInput, in one
/// line: "`what` PATH: DIR is writable by uid 1000 (its owner) and everyone (mode 0777); ..." with the fix.
Status CheckOnlyRootCanChange(const std::string& path, std::string_view what);

/// A command root is about to run: `program` (with a '/', a path against `workdir`; without, looked up in
/// `path`, a colon-separated PATH, as common/child_process.h's FindProgram does: relative entries against the
/// working directory) and its `args`. Checks with
/// CheckOnlyRootCanChange every PATH directory searched up to the match (a program planted in an earlier one
/// would run instead), the program, its `#!` interpreter, and each argument that names a regular file
/// (against `workdir`). Returns the program found, or "" when there is none (running it then fails).
/// `what` starts each message: `hook before-apply (hooks.yaml:3:5)`, `--restart-slurmd`.
Result<std::string> CheckRootCommand(const std::string& program, const std::vector<std::string>& args,
                                     const std::string& path, const std::string& workdir, std::string_view what);

}  // namespace migctl
